"""When the next filtering and monitoring review is due, and whether it is overdue.

DfE standard 2 asks for a review at least once every academic year; St Thomas More's policy is
"reviewed annually" (STM-004, STM-006). The interval is the policy's own: the months between
`school.approved` and `school.next_review` when both are given (St Hilary's 2019-06 -> 2020-11
is 17 months; capped at 12 so the DfE's "at least annually" holds), else 12 months. The next
review is due one interval after the last signed-off review; before any review is recorded it is
due on the policy's `next_review` date, or now if the policy gives none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from schoolgate.app.dates import add_months
from schoolgate.engine.policy.schema import Policy

DFE_MAX_MONTHS = 12
_MONTH = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def parse_policy_date(value: str | None) -> date | None:
    """`2017-12` (the first of the month) or `2017-12-05`; None for anything else."""
    match = _MONTH.match(value or "")
    if not match:
        return None
    year, month, day = (int(g) if g else 1 for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def long_date(day: date) -> str:
    """`1 December 2017`, the way a printed report writes a date."""
    return f"{day.day} {day:%B %Y}"


def interval_months(policy: Policy) -> int:
    approved = parse_policy_date(policy.school.approved)
    due = parse_policy_date(policy.school.next_review)
    if approved is None or due is None or due <= approved:
        return DFE_MAX_MONTHS
    months = (due.year - approved.year) * 12 + due.month - approved.month
    return max(1, min(months, DFE_MAX_MONTHS))


@dataclass(frozen=True)
class ReviewDue:
    due_on: date
    basis: str
    """Why this date, in words (shown on the page and in the evidence pack)."""

    def overdue(self, today: date) -> bool:
        return self.due_on < today

    def days_left(self, today: date) -> int:
        return (self.due_on - today).days


def next_review(policy: Policy, last_signed_off: date | None, today: date) -> ReviewDue:
    months = interval_months(policy)
    if last_signed_off is not None:
        return ReviewDue(
            add_months(last_signed_off, months),
            f"{months} months after the last review ({long_date(last_signed_off)})",
        )
    planned = parse_policy_date(policy.school.next_review)
    if planned is not None:
        return ReviewDue(planned, "the review date in the policy")
    return ReviewDue(today, "no review recorded and the policy gives no review date")
