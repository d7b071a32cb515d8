"""The printed policy with the school's own dates and names (issue 12).

The staff app prints the policy from the records, never from the written policy's old dates:
"Approved" is the last annual filtering and monitoring review signed off here (DfE standard 2;
STM-004, STM-006: "reviewed annually"), with the name and position of whoever signed it; "Next
review" is when the next one is due by the review schedule (`schedule.next_review`). Until a
review is signed off both are printed as blanks to fill in, because the only other date is the
seed's (St Thomas More: approved December 2016, next review December 2017) and printing that as
current would tell readers a years-old approval still stands. Earlier reviews are listed as
history. The policy's approved filter changes (STM-314, STM-315) are read by the renderer from
the policy itself and printed as "Last amended" and in their appendix. The DfE standard 1
register of who is responsible comes from the policy's contacts (`register.py`; STM-016,
STM-031, STM-044, CAV-075), blanks where nobody is named.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from schoolgate.app.reviews.models import Review
from schoolgate.app.reviews.register import printed_register, roles_register
from schoolgate.app.reviews.schedule import next_review
from schoolgate.engine.policy.render import PrintRecords
from schoolgate.engine.policy.schema import Policy


def _signed(review: Review) -> str:
    return ", ".join(p for p in (review.signed_off_name, review.signed_off_position) if p)


def print_records(policy: Policy, today: date) -> PrintRecords:
    reviews = list(Review.objects.order_by("signed_off_at", "id"))
    responsible = printed_register(roles_register(policy))
    if not reviews:
        return PrintRecords(responsible=responsible, printed=today)
    last = reviews[-1]
    signed_on = timezone.localtime(last.signed_off_at).date()
    history = tuple(
        (
            timezone.localtime(r.signed_off_at).date(),
            f"annual filtering and monitoring review signed off by {_signed(r)}",
        )
        for r in reviews[:-1]
    )
    return PrintRecords(
        approved=signed_on,
        approved_by=f"{_signed(last)} (annual filtering and monitoring review)",
        next_review=next_review(policy, signed_on, today).due_on,
        history=history,
        responsible=responsible,
        printed=today,
    )
