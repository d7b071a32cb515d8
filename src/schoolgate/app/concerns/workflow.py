"""What can happen to a safeguarding concern, each step checked, audited and, where someone
must act, notified. A concern never suggests or records a sanction (issue 13)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.audit.trail import record
from schoolgate.app.concerns.models import (
    Concern,
    ConcernSource,
    ConcernStatus,
    Referral,
    Task,
)
from schoolgate.app.concerns.notifications import notify, safeguarding_leads
from schoolgate.app.people.models import User
from schoolgate.app.policy import find_concern_category
from schoolgate.app.roles import DSL_ROLES, Role


class ConcernError(Exception):
    """A step the concern's state or the policy does not allow, with the reason."""


def name_of(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else ""


def _url(concern: Concern) -> str:
    return reverse("concern-detail", args=[concern.pk])


def _check_category(category_id: str) -> str:
    category = find_concern_category(category_id)
    if category is None:
        raise ConcernError(f"concern category {category_id!r} is not in the school's policy")
    return category.title


def check_lead(person: User | None) -> None:
    if person is not None and person.role not in DSL_ROLES:
        raise ConcernError(f"{name_of(person)} is not a safeguarding lead and cannot see concerns")


def open_concern(
    reporter: User | None,
    source: str,
    fields: dict[str, Any],
    pupils: Iterable[User] = (),
    request: Any = None,
    audit_action: str = "concern.report",
    audit_detail: dict[str, Any] | None = None,
) -> Concern:
    title = _check_category(fields["category"])
    pupils = list(pupils)
    for pupil in pupils:
        if pupil.role != Role.PUPIL:
            raise ConcernError(f"{name_of(pupil)} is not a pupil")
    with transaction.atomic():
        concern = Concern.objects.create(
            reported_at=timezone.now(), reported_by=reporter, source=source, **fields
        )
        if pupils:
            concern.pupils.set(pupils)
        record(
            reporter,
            audit_action,
            concern,
            {"category": concern.category, "source": source, **(audit_detail or {})},
            request=request,
        )
        notify(
            safeguarding_leads(),
            f"New safeguarding concern {concern.reference}: {title}",
            _url(concern),
            exclude=reporter,
        )
    return concern


def ensure_open(concern: Concern) -> None:
    if concern.is_closed:
        raise ConcernError(f"{concern.reference} is closed; nothing more can be recorded on it")


def update(concern: Concern, actor: User, data: dict[str, Any], request: Any = None) -> None:
    """Category, status, priority and the person assigned; the reason is kept."""
    ensure_open(concern)
    _check_category(data["category"])
    if data["status"] == ConcernStatus.CLOSED:
        raise ConcernError("use Close so that the outcome is recorded")
    check_lead(data.get("assigned_to"))
    changed: dict[str, list[str]] = {}
    for name in ("category", "status", "priority"):
        if getattr(concern, name) != data[name]:
            changed[name] = [getattr(concern, name), data[name]]
            setattr(concern, name, data[name])
    assignee = data.get("assigned_to")
    if concern.assigned_to_id != (assignee.pk if assignee else None):
        changed["assigned_to"] = [name_of(concern.assigned_to), name_of(assignee)]
        concern.assigned_to = assignee
    if not changed:
        raise ConcernError("nothing was changed")
    with transaction.atomic():
        concern.save(update_fields=["category", "status", "priority", "assigned_to"])
        record(
            actor,
            "concern.update",
            concern,
            {"changed": changed, "reason": data.get("reason", "")},
            request=request,
        )
        if "assigned_to" in changed and assignee is not None:
            notify(
                [assignee],
                f"{name_of(actor)} assigned {concern.reference} to you",
                _url(concern),
                exclude=actor,
            )


def add_task(
    concern: Concern, actor: User, title: str, assignee: User, due: date, request: Any = None
) -> Task:
    ensure_open(concern)
    check_lead(assignee)
    if not title.strip():
        raise ConcernError("say what the task is")
    with transaction.atomic():
        task = Task.objects.create(
            concern=concern,
            title=title.strip(),
            assigned_to=assignee,
            due=due,
            created_by=actor,
            created_at=timezone.now(),
        )
        if concern.status == ConcernStatus.NEW:
            concern.status = ConcernStatus.OPEN
            concern.save(update_fields=["status"])
        record(
            actor,
            "concern.task",
            concern,
            {
                "task": task.pk,
                "title": task.title,
                "assigned_to": name_of(assignee),
                "due": str(due),
            },
            request=request,
        )
        notify(
            [assignee],
            f"Task on {concern.reference}, due {due:%d/%m/%Y}: {task.title}",
            _url(concern),
            exclude=actor,
        )
    return task


def complete_task(task: Task, actor: User, request: Any = None) -> None:
    ensure_open(task.concern)
    if task.is_done:
        raise ConcernError("this task is already done")
    task.done_at, task.done_by = timezone.now(), actor
    task.save(update_fields=["done_at", "done_by"])
    record(
        actor, "concern.task-done", task.concern, {"task": task.pk, "title": task.title}, request
    )


def add_referral(
    concern: Concern, actor: User, data: dict[str, Any], request: Any = None
) -> Referral:
    ensure_open(concern)
    with transaction.atomic():
        referral = Referral.objects.create(concern=concern, by=actor, **data)
        if concern.status in {ConcernStatus.NEW, ConcernStatus.OPEN}:
            concern.status = ConcernStatus.REFERRED
            concern.save(update_fields=["status"])
        record(
            actor,
            "concern.referral",
            concern,
            {
                "service": referral.service,
                "at": _iso(referral.referred_at),
                "reference": referral.reference,
                "note": referral.note,
            },
            request=request,
        )
    return referral


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def add_note(concern: Concern, actor: User, text: str, request: Any = None) -> None:
    ensure_open(concern)
    if not text.strip():
        raise ConcernError("the note is empty")
    record(actor, "concern.note", concern, {"text": text.strip()}, request=request)


def closing_problems(concern: Concern, outcome: str | None = None) -> list[str]:
    problems = []
    if outcome is not None and not outcome.strip():
        problems.append("record the outcome before closing")
    open_tasks = concern.tasks.filter(done_at=None).count()
    if open_tasks:
        problems.append(
            "1 task is not done yet" if open_tasks == 1 else f"{open_tasks} tasks are not done yet"
        )
    return problems


def close(concern: Concern, actor: User, outcome: str, request: Any = None) -> None:
    ensure_open(concern)
    for problem in closing_problems(concern, outcome):
        raise ConcernError(problem)
    concern.status = ConcernStatus.CLOSED
    concern.outcome = outcome.strip()
    concern.closed_at = timezone.now()
    concern.save(update_fields=["status", "outcome", "closed_at"])
    record(actor, "concern.close", concern, {"outcome": concern.outcome}, request=request)


def from_case(case: Any, actor: User, category: str, reason: str, request: Any = None) -> Concern:
    """A case that is really a worry about a child (e.g. a pupil's "something upset me"
    report) becomes a concern; the case, if nobody has acted on it, closes as not an ICT
    incident. The case's report is copied; the link is in both timelines (issue 13)."""
    from schoolgate.app.cases.workflow import WorkflowError, close_as_not_an_incident

    if case.is_closed:
        raise ConcernError(f"{case.reference} is closed")
    if not reason.strip():
        raise ConcernError("say why this is a safeguarding concern")
    pupils = [p for p in case.involved.all() if p.role == Role.PUPIL]
    fields = {
        "category": category,
        "summary": case.summary,
        "details": case.details,
        "url": case.url,
        "occurred_at": case.occurred_at or case.reported_at,
        "others_text": case.involved_text,
    }
    with transaction.atomic():
        concern = open_concern(
            actor,
            ConcernSource.DSL,
            fields,
            pupils,
            request=request,
            audit_action="concern.from-case",
            audit_detail={"case": case.reference, "reason": reason.strip()},
        )
        closed = close_as_not_an_incident(
            case, actor, "concern", f"Recorded as safeguarding concern {concern.reference}", request
        )
        if not closed:
            raise WorkflowError(
                f"{case.reference} already has actions or a review: it stays an ICT incident; "
                "raise a separate concern instead"
            )
    return concern
