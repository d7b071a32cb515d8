"""The DfE filtering and monitoring standards evidence pack.

Each item names a standard, says what the school has, points at the page that is its evidence
and flags a gap: roles not named (standard 1), staff without their filtering and monitoring
training (standard 1, via the training log's `untrained_staff`), a review missing or overdue
(standard 2; STM-004, STM-006), no recent or a failed filtering self-test through the running
gateway (standard 3; the latest `SelfTestRun`, STM-316, STM-318), filter changes without a
second approver (standard 3; the change-control log, STM-314, STM-315) and acceptable use
agreements not yet complete (standard 4; STM-228). Built only from the policy and the records,
never typed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.urls import reverse
from django.utils import timezone

from schoolgate.app.agreements.status import statuses
from schoolgate.app.agreements.training import untrained_staff
from schoolgate.app.governance.models import FilterChange
from schoolgate.app.people.models import User
from schoolgate.app.reviews.models import SelfTestRun
from schoolgate.app.reviews.register import gaps, roles_register
from schoolgate.app.reviews.schedule import long_date
from schoolgate.app.reviews.workflow import latest_review, review_due
from schoolgate.app.roles import Role
from schoolgate.engine.policy.schema import Policy

STANDARD_3 = "Standard 3: block harmful content without over-blocking"
CSV_COLUMNS = ["Standard", "Item", "Status", "What the records show", "Gaps", "Evidence"]


@dataclass
class EvidenceItem:
    standard: str
    title: str
    summary: str
    evidence_url: str
    evidence_label: str
    gaps: list[str] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "Gap" if self.gaps else "Met"


def evidence_pack(policy: Policy, today: date) -> list[EvidenceItem]:
    return [
        _roles(policy),
        _training(policy, today),
        _review(policy, today),
        _selftest(today),
        _change_control(),
        _agreements(policy),
    ]


def _roles(policy: Policy) -> EvidenceItem:
    register = roles_register(policy)
    named = [f"{e.duty.title}: {', '.join(_who(c) for c in e.named)}" for e in register if e.named]
    return EvidenceItem(
        "Standard 1: roles and responsibilities",
        "Senior leader, governor, DSL and IT provider named",
        f"{sum(1 for e in register if not e.gap)} of {len(register)} roles have a named person.",
        reverse("roles-register"),
        "Roles register",
        gaps(register),
        named,
    )


def _who(contact) -> str:
    return f"{contact.name} ({contact.title})"


def _training(policy: Policy, today: date) -> EvidenceItem:
    gaps_ = untrained_staff(policy, today)
    people = sorted({g.person.pk: g.person for g in gaps_}.values(), key=lambda p: p.last_name)
    details = [
        f"{g.person.get_full_name() or g.person.username}: {g.course.title}, "
        f"due {g.due:%d %b %Y} ({g.reason})"
        for g in gaps_
    ]
    return EvidenceItem(
        "Standard 1: roles and responsibilities",
        "Staff trained in filtering and monitoring",
        f"{_count(len(people), 'person', 'people')} with filtering and monitoring training overdue."
        if policy.training
        else "The policy names no training courses.",
        reverse("training"),
        "Training log",
        [f"{len(people)} untrained: training overdue"] if people else [],
        details,
    )


def _review(policy: Policy, today: date) -> EvidenceItem:
    last = latest_review()
    due = review_due(policy, today)
    found = []
    if last is None:
        summary = "No review recorded yet."
        found.append("No review recorded")
    else:
        signed = timezone.localtime(last.signed_off_at)
        summary = (
            f"Last review signed off {long_date(signed.date())} by {last.signed_off_name}, "
            f"{last.signed_off_position}."
        )
    if due.overdue(today):
        found.append(f"Review overdue since {long_date(due.due_on)}")
    return EvidenceItem(
        "Standard 2: review at least annually",
        "Annual filtering and monitoring review",
        f"{summary} Next due {long_date(due.due_on)} ({due.basis}).",
        reverse("review-list"),
        "Reviews",
        found,
    )


def _selftest(today: date) -> EvidenceItem:
    run = SelfTestRun.objects.first()
    if run is None:
        return EvidenceItem(
            STANDARD_3,
            "Filtering self-test through the running gateway",
            "No filtering self-test has been run.",
            reverse("selftest"),
            "Filtering self-test",
            ["No self-test run"],
        )
    ran = timezone.localtime(run.ran_at).date()
    found = []
    if run.mismatches:
        found.append(f"{_count(run.mismatches, 'probe')} not as the policy says")
    if run.not_probed:
        found.append(f"{_count(run.not_probed, 'group')} not tested")
    if (today - ran).days > 365:
        found.append("Latest self-test more than a year old")
    return EvidenceItem(
        STANDARD_3,
        "Filtering self-test through the running gateway",
        f"Latest run {long_date(ran)}: {'passed' if run.passed else 'failed'}, "
        f"{_count(run.probes, 'probe')} through DNS and the proxy.",
        reverse("selftest-run-detail", args=[run.pk]),
        "Latest self-test",
        found,
    )


def _change_control() -> EvidenceItem:
    changes = FilterChange.objects.all()
    approved = changes.filter(status=FilterChange.Status.APPROVED).count()
    waiting = changes.filter(status=FilterChange.Status.PROPOSED).count()
    return EvidenceItem(
        STANDARD_3,
        "Every filter change has an author and a second approver",
        f"{_count(changes.count(), 'change')} logged: {approved} approved, "
        f"{waiting} waiting for approval.",
        reverse("filter-change-log"),
        "Change-control log",
        [f"{_count(waiting, 'change')} waiting for a decision"] if waiting else [],
    )


def _agreements(policy: Policy) -> EvidenceItem:
    users = list(User.objects.filter(is_active=True).exclude(role=Role.PARENT))
    rows = [r for r in statuses(users, policy, timezone.now()) if not r.each_logon]
    complete = sum(1 for r in rows if r.complete)
    share = f" ({100 * complete // len(rows)}%)" if rows else ""
    return EvidenceItem(
        "Standard 4: monitoring and acceptable use",
        "Acceptable use agreements signed",
        f"{complete} of {_count(len(rows), 'agreement')} complete{share}.",
        reverse("agreement-register"),
        "Agreement register",
        [f"{_count(len(rows) - complete, 'agreement')} outstanding"]
        if complete < len(rows)
        else [],
    )


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def csv_rows(items: list[EvidenceItem]) -> list[list[str]]:
    return [
        [
            i.standard,
            i.title,
            i.status,
            " ".join([i.summary, *i.details]),
            "; ".join(i.gaps),
            i.evidence_label,
        ]
        for i in items
    ]
