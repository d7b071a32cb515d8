"""Recording a review and reminding the responsible roles before it is due.

The checklist follows DfE filtering and monitoring standard 2 ("review your filtering and
monitoring provision at least once every academic year") and its check list, with generative-AI
risks (DfE generative AI product safety expectations, 2025) and the filtering check (the
gateway's "Why blocked?" tester and the filtering self-test: the latest run is kept with the
review as its evidence). A review is signed off by the signed-in person,
recorded with their name, position and the time, and audited (STM-004, STM-006, STM-031).
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from schoolgate.app.audit import trail
from schoolgate.app.people.models import User
from schoolgate.app.reviews.models import Review, ReviewReminder, SelfTestRun
from schoolgate.app.reviews.register import emails_for, roles_register
from schoolgate.app.reviews.schedule import ReviewDue, long_date, next_review
from schoolgate.app.roles import Role
from schoolgate.engine.policy.schema import Policy

CHECKLIST = (
    ("roles", "Roles and responsibilities checked against the roles register (standard 1)"),
    ("filtering-check", "Filtering checked: blocked categories tried through the gateway"),
    ("monitoring-check", "Monitoring checked: alerts reach the DSL and are acted on"),
    ("risk-profile", "Pupils' risk profile considered (age, SEND, EAL, vulnerability)"),
    ("generative-ai", "Generative-AI risks considered (chatbots, image and homework tools)"),
    ("change-log", "Filter change-control log read: every change had a second approver"),
    ("training", "Staff training on filtering and monitoring checked"),
    ("teaching", "What is blocked still lets teaching and learning happen (no over-blocking)"),
    ("devices", "Every device and network covered, including guest and BYOD access"),
)
CHECKLIST_LABELS = dict(CHECKLIST)
REMINDER_DAYS = 30
REMINDER_ROLES = (Role.DSL, Role.COORDINATOR, Role.GOVERNOR)


def latest_review() -> Review | None:
    return Review.objects.select_related("signed_off_by").first()


def review_due(policy: Policy, today: date) -> ReviewDue:
    last = latest_review()
    signed = timezone.localtime(last.signed_off_at).date() if last else None
    return next_review(policy, signed, today)


def record_review(
    user: User,
    policy: Policy,
    checked: list[str],
    outcome: str,
    actions: str,
    position: str,
    request=None,
) -> Review:
    """Save and audit a signed-off review; unknown checklist ids are refused."""
    unknown = sorted(set(checked) - set(CHECKLIST_LABELS))
    if unknown:
        raise ValueError(f"unknown checklist item(s): {', '.join(unknown)}")
    if not outcome.strip():
        raise ValueError("outcome: say what the review found")
    due = review_due(policy, timezone.localdate())
    with transaction.atomic():
        review = Review.objects.create(
            due_on=due.due_on,
            checklist={item: item in checked for item, _ in CHECKLIST},
            outcome=outcome.strip(),
            actions=actions.strip(),
            signed_off_by=user,
            signed_off_name=user.get_full_name() or user.username,
            signed_off_position=position.strip() or user.get_role_display(),
            selftest=SelfTestRun.objects.first(),
        )
        trail.record(
            user,
            "review.signed-off",
            review,
            {"due_on": due.due_on.isoformat(), "checked": sorted(checked)},
            request,
        )
    return review


def reminder_recipients(policy: Policy) -> list[str]:
    """The roles register's e-mail addresses, then active DSL, coordinator and governor accounts."""
    emails = emails_for(roles_register(policy))
    accounts = User.objects.filter(is_active=True, role__in=REMINDER_ROLES).exclude(email="")
    for email in accounts.order_by("id").values_list("email", flat=True):
        if email not in emails:
            emails.append(email)
    return emails


def send_review_reminders(policy: Policy, today: date, days_before: int = REMINDER_DAYS) -> int:
    """E-mail each responsible person once per due date, from `days_before` days before it
    (and while it is overdue). Returns the number of e-mails sent."""
    due = review_due(policy, today)
    if due.due_on - timedelta(days=days_before) > today:
        return 0
    state = "is overdue" if due.overdue(today) else "is due"
    sent = 0
    for email in reminder_recipients(policy):
        try:
            with transaction.atomic():
                ReviewReminder.objects.create(due_on=due.due_on, recipient=email)
        except IntegrityError:
            continue  # already reminded about this due date
        send_mail(
            f"Filtering and monitoring review {state} ({long_date(due.due_on)})",
            f"The annual filtering and monitoring review for {policy.school.name} {state}: "
            f"{long_date(due.due_on)} ({due.basis}).\n\n"
            "DfE standard 2 asks for it at least once every academic year. Record it in "
            "Schoolgate under Reviews, with the checklist, the outcome and the sign-off.\n",
            None,
            [email],
        )
        sent += 1
    trail.record(None, "review.reminders-sent", None, {"due_on": str(due.due_on), "sent": sent})
    return sent
