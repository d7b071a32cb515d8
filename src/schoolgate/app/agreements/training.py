"""Training: who must complete which course by when, and who has not (STM-063, STM-064,
STM-068, STM-323, SH-090, SH-091, CAV-067, CAV-068, HG-016; DfE filtering and monitoring
standard 1: staff know their filtering and monitoring roles from induction).

The policy's `training` section names each course, the groups it applies to, the days from
starting within which a newcomer must complete it (`induction_days`, counted from the account's
`date_joined`) and when it is due again (`renew_months`). `untrained_staff()` is the query the
governance reports use: everyone with a course outstanding or overdue, and since when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.core.mail import send_mail
from django.utils import timezone

from schoolgate.app.agreements.models import Reminder, TrainingNeed, TrainingRecord
from schoolgate.app.agreements.status import group_of
from schoolgate.app.dates import add_months
from schoolgate.app.people.models import User
from schoolgate.app.roles import Role
from schoolgate.engine.policy.schema import Policy, TrainingCourse


@dataclass
class TrainingGap:
    person: User
    course: TrainingCourse
    due: date
    last_completed: date | None

    def overdue(self, today: date) -> bool:
        return self.due < today

    @property
    def reason(self) -> str:
        if self.last_completed is None:
            return "never completed"
        return f"last completed {self.last_completed:%d %b %Y}"



def due_date(course: TrainingCourse, person: User, last: date | None) -> date | None:
    """When `person` must next complete `course`; None if nothing is due."""
    if last is None:
        started = timezone.localtime(person.date_joined).date()
        return started + timedelta(days=course.induction_days or 0)
    if course.renew_months is None:
        return None
    return add_months(last, course.renew_months)


def training_gaps(policy: Policy, today: date, horizon_days: int = 0) -> list[TrainingGap]:
    """Every course due by `today + horizon_days` and not done, for every active person."""
    courses = policy.training
    if not courses:
        return []
    people = list(User.objects.filter(is_active=True).exclude(role__in=[Role.PUPIL, Role.PARENT]))
    done: dict[tuple[int, str], date] = {}
    for row in TrainingRecord.objects.filter(person__in=people).exclude(course=""):
        key = (row.person_id, row.course)
        done[key] = max(done.get(key, row.completed_on), row.completed_on)
    limit = today + timedelta(days=horizon_days)
    gaps = []
    for person in people:
        group = group_of(person, policy)
        for course in courses:
            if group not in course.groups and "all" not in course.groups:
                continue
            last = done.get((person.pk, course.id))
            due = due_date(course, person, last)
            if due is not None and due <= limit:
                gaps.append(TrainingGap(person, course, due, last))
    return sorted(gaps, key=lambda g: (g.due, g.person.last_name, g.course.id))


def untrained_staff(policy: Policy, today: date) -> list[TrainingGap]:
    """Staff, governors and volunteers with a required course overdue (for governance reports:
    `[(gap.person, gap.course.title, gap.due) for gap in untrained_staff(policy, today)]`)."""
    return [gap for gap in training_gaps(policy, today) if gap.overdue(today)]


def send_training_reminders(policy: Policy, today: date, horizon_days: int = 14) -> int:
    """E-mail each person with a course due within `horizon_days` or overdue (once a week), and
    the people who keep the Training Needs Audit Log about entries whose Review Date has come
    (STM-S35). Returns the number of e-mails sent."""
    sent = 0
    week_ago = timezone.now() - timedelta(days=7)
    for gap in training_gaps(policy, today, horizon_days):
        email = gap.person.email
        recent = Reminder.objects.filter(
            kind=f"training:{gap.course.id}", about=gap.person, sent_at__gte=week_ago
        )
        if not email or recent.exists():
            continue
        state = "was due" if gap.overdue(today) else "is due"
        send_mail(
            f"Training {state}: {gap.course.title}",
            f"Dear {gap.person.get_full_name() or gap.person.username},\n\n"
            f"“{gap.course.title}” {state} on {gap.due:%d %B %Y} ({gap.reason}).\n"
            "Please arrange it with the online safety coordinator.\n",
            None,
            [email],
        )
        Reminder.objects.create(
            kind=f"training:{gap.course.id}",
            about=gap.person,
            recipient=email,
            sent_at=timezone.now(),
        )
        sent += 1
    return sent + _review_date_reminders(today)


def _review_date_reminders(today: date) -> int:
    keepers = list(User.objects.filter(is_active=True, role=Role.COORDINATOR).exclude(email=""))
    due = list(TrainingNeed.objects.filter(review_date__lte=today, reminded_on__isnull=True))
    if not due or not keepers:
        return 0
    lines = [
        f"- {n.group}: {n.identified_need} (review date {n.review_date:%d %b %Y})" for n in due
    ]
    send_mail(
        "Training Needs Audit Log: review dates reached",
        "These entries of the Training Needs Audit Log have reached their review date:\n\n"
        + "\n".join(lines)
        + "\n",
        None,
        [k.email for k in keepers],
    )
    TrainingNeed.objects.filter(pk__in=[n.pk for n in due]).update(reminded_on=today)
    return 1
