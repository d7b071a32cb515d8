"""What can happen to a case, each step checked and written to the audit trail."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from schoolgate.app.audit.trail import record
from schoolgate.app.cases.models import (
    AppliedAction,
    Case,
    CustodyEntry,
    Evidence,
    ParentContact,
    Review,
    Status,
)
from schoolgate.app.people.models import User
from schoolgate.app.policy import find_incident
from schoolgate.app.roles import Role

# STM-167, STM-173, STM-175: the right-hand side of the flowchart.
ILLEGAL_INSTRUCTIONS = (
    "Stop — do not view the material further. Isolate the device and do not change its state. "
    "Refer to the police (and report to the IWF or CEOP). Record the web address and a "
    "description only."
)
ILLEGAL_UPLOAD_REFUSED = (
    "This case concerns suspected illegal content: the material itself must not be uploaded, "
    "copied or viewed further (STM-171, STM-173). Record the web address and a description."
)


class WorkflowError(Exception):
    """A step that the policy or the case's state does not allow, with the reason."""


def open_case(
    reporter: User | None,
    source: str,
    fields: dict[str, Any],
    involved: Iterable[User] = (),
    request: Any = None,
) -> Case:
    involved = list(involved)
    with transaction.atomic():
        case = Case.objects.create(
            reported_at=timezone.now(),
            reporter=reporter,
            source=source,
            year_group=_year_group(involved),
            **fields,
        )
        if involved:
            case.involved.set(involved)
        record(
            reporter,
            "case.report",
            case,
            {"source": source, "summary": case.summary, "illegal": case.illegal},
            request=request,
        )
    return case


def _year_group(involved: list[User]) -> str:
    return next((p.year for p in involved if p.role == Role.PUPIL and p.year), "")


def ensure_open(case: Case) -> None:
    if case.is_closed:
        raise WorkflowError(f"{case.reference} is closed; nothing more can be recorded on it")


def triage(
    case: Case, actor: User, incident_key: str, status: str, note: str, request: Any = None
) -> None:
    ensure_open(case)
    choice = find_incident(incident_key) if incident_key else None
    if incident_key and choice is None:
        raise WorkflowError(f"incident type {incident_key!r} is not in the school's policy")
    if status == Status.CLOSED:
        raise WorkflowError("use Close to close a case, so the outcome is recorded")
    before = {"incident_type": case.incident_type, "status": case.status}
    case.incident_type = incident_key
    case.illegal = case.illegal or bool(choice and choice.incident.illegal)
    case.status = status if status != Status.REPORTED or not choice else Status.TRIAGED
    case.save(update_fields=["incident_type", "illegal", "status"])
    record(
        actor,
        "case.triage",
        case,
        {
            "before": before,
            "incident_type": incident_key,
            "status": case.status,
            "illegal": case.illegal,
            "note": note,
        },
        request=request,
    )


def suggested_action_ids(case: Case) -> list[str]:
    choice = find_incident(case.incident_type) if case.incident_type else None
    return [a.id for a in choice.suggested_actions()] if choice else []


def apply_actions(
    case: Case, actor: User, chosen: list[str], reason: str, request: Any = None
) -> list[AppliedAction]:
    """The lead confirms or changes the policy's suggestions; the reason is kept either way."""
    ensure_open(case)
    choice = find_incident(case.incident_type)
    if choice is None:
        raise WorkflowError("choose the incident type from the policy before applying sanctions")
    if not reason.strip():
        raise WorkflowError("give the reason for the actions chosen")
    if not chosen:
        raise WorkflowError("choose at least one action or referral")
    by_id = {a.id: a for a in choice.matrix.actions}
    unknown = [a for a in chosen if a not in by_id]
    if unknown:
        raise WorkflowError(f"actions {unknown} are not in the policy's {choice.applies_to} matrix")
    suggested = {a.id for a in choice.suggested_actions()}
    now = timezone.now()
    with transaction.atomic():
        applied = [
            AppliedAction.objects.create(
                case=case,
                action_id=a,
                title=by_id[a].title,
                referral=by_id[a].referral,
                suggested=a in suggested,
                by=actor,
                at=now,
                reason=reason.strip(),
            )
            for a in chosen
        ]
        case.status = Status.REFERRED if case.illegal else Status.ACTION_TAKEN
        case.save(update_fields=["status"])
        record(
            actor,
            "case.actions",
            case,
            {
                "chosen": chosen,
                "suggested": sorted(suggested),
                "added": sorted(set(chosen) - suggested),
                "dropped": sorted(suggested - set(chosen)),
                "reason": reason.strip(),
            },
            request=request,
        )
    return applied


def record_review(case: Case, actor: User, fields: dict[str, Any], request: Any = None) -> Review:
    """The signed-in `actor` is the first reviewer; the second must confirm in their own session
    (`confirm_review`). STM-168, STM-283: two different members of staff."""
    ensure_open(case)
    second = fields.get("second_reviewer")
    if second is None:
        raise WorkflowError("name the second reviewer (STM-168, STM-283)")
    if second.pk == actor.pk:
        raise WorkflowError("the two reviewers must be different people (STM-168)")
    if not actor.is_staff_member or not second.is_staff_member:
        raise WorkflowError(f"{second} is not a member of staff and cannot review")
    fields = {k: v for k, v in fields.items() if k not in {"first_reviewer", "second_reviewer"}}
    with transaction.atomic():
        review = Review.objects.create(
            case=case,
            first_reviewer=actor,
            second_reviewer=second,
            recorded_by=actor,
            recorded_at=timezone.now(),
            **fields,
        )
        if case.status in {Status.REPORTED, Status.TRIAGED}:
            case.status = Status.INVESTIGATING
            case.save(update_fields=["status"])
        record(
            actor,
            "case.review",
            case,
            {
                "review": review.pk,
                "first": _full_name(actor),
                "second": _full_name(second),
                "computer": review.computer,
                "sites": review.sites,
                "conclusion": review.conclusion,
            },
            request=request,
        )
        _ask_to_confirm(review, actor)
    return review


def _full_name(user: User) -> str:
    return user.get_full_name() or user.username


def _ask_to_confirm(review: Review, actor: User) -> None:
    from django.urls import reverse

    from schoolgate.app.concerns.notifications import notify

    notify(
        [review.second_reviewer],
        f"{_full_name(actor)} asks you to confirm the two-person review of {review.case.reference}",
        reverse("review-confirm", args=[review.pk]),
    )


def confirm_review(review: Review, actor: User, request: Any = None) -> None:
    """Only the named second reviewer, signed in as themselves, confirms (issue 13)."""
    if actor.pk != review.second_reviewer_id:
        record(
            actor,
            "case.review-confirm-refused",
            review.case,
            {"review": review.pk},
            request=request,
        )
        raise PermissionDenied("only the named second reviewer can confirm this review")
    ensure_open(review.case)
    if review.is_confirmed:
        raise WorkflowError("you have already confirmed this review")
    review.second_confirmed_at = timezone.now()
    review.save(update_fields=["second_confirmed_at"])
    record(
        actor,
        "case.review-confirm",
        review.case,
        {"review": review.pk, "second": _full_name(actor)},
        request=request,
    )


def store_evidence(
    case: Case, actor: User, upload: UploadedFile, description: str, request: Any = None
) -> Evidence:
    ensure_open(case)
    if case.illegal:
        record(actor, "evidence.refused", case, {"filename": upload.name}, request=request)
        raise WorkflowError(ILLEGAL_UPLOAD_REFUSED)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    sha = digest.hexdigest()
    path = evidence_path(sha)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        partial.replace(path)
        path.chmod(0o440)
    now = timezone.now()
    with transaction.atomic():
        evidence = Evidence.objects.create(
            case=case,
            sha256=sha,
            filename=Path(upload.name or "evidence").name[:255],
            content_type=(upload.content_type or "application/octet-stream")[:100],
            size=upload.size or 0,
            description=description,
            uploaded_by=actor,
            uploaded_at=now,
        )
        CustodyEntry.objects.create(
            evidence=evidence,
            at=now,
            actor=actor,
            event="received",
            sha256_checked=sha,
            note="uploaded to the case",
        )
        record(
            actor,
            "evidence.add",
            case,
            {"evidence": evidence.pk, "sha256": sha, "filename": evidence.filename},
            request=request,
        )
    return evidence


def evidence_path(sha256: str) -> Path:
    return Path(settings.MEDIA_ROOT) / "evidence" / sha256[:2] / sha256


def read_evidence(evidence: Evidence, actor: User, request: Any = None) -> bytes:
    """The stored bytes, after checking they still match their SHA-256 (logged in custody)."""
    data = evidence_path(evidence.sha256).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    event = "released" if actual == evidence.sha256 else "integrity-failure"
    CustodyEntry.objects.create(
        evidence=evidence, at=timezone.now(), actor=actor, event=event, sha256_checked=actual
    )
    record(actor, f"evidence.{event}", evidence.case, {"evidence": evidence.pk}, request=request)
    if event != "released":
        raise WorkflowError(f"evidence {evidence.pk} no longer matches its SHA-256")
    return data


def inform_parent(
    case: Case, actor: User, fields: dict[str, Any], request: Any = None
) -> ParentContact:
    ensure_open(case)
    contact = ParentContact.objects.create(case=case, informed_by=actor, **fields)
    record(
        actor,
        "case.parent-informed",
        case,
        {
            "parent": contact.parent_name,
            "method": contact.method,
            "at": contact.informed_at.isoformat(),
        },
        request=request,
    )
    return contact


def add_note(case: Case, actor: User, text: str, request: Any = None) -> None:
    ensure_open(case)
    if not text.strip():
        raise WorkflowError("the note is empty")
    record(actor, "case.note", case, {"text": text.strip()}, request=request)


def close_case(case: Case, actor: User, outcome: str, request: Any = None) -> None:
    ensure_open(case)
    for problem in closing_problems(case, outcome):
        raise WorkflowError(problem)
    case.status = Status.CLOSED
    case.outcome = outcome.strip()
    case.closed_at = timezone.now()
    case.save(update_fields=["status", "outcome", "closed_at"])
    record(actor, "case.close", case, {"outcome": case.outcome}, request=request)


def closing_problems(
    case: Case,
    outcome: str | None = None,
    applied: list[AppliedAction] | None = None,
    reviews: list[Review] | None = None,
) -> list[str]:
    """Why `case` cannot close yet (the outcome too, if given); `applied`/`reviews` are its rows
    if already loaded."""
    problems = []
    if outcome is not None and not outcome.strip():
        problems.append("record the outcome before closing")
    if not case.incident_type:
        problems.append("choose the incident type from the policy before closing")
    if case.illegal:
        referred = (
            any(a.referral for a in applied)
            if applied is not None
            else case.actions.filter(referral=True).exists()
        )
        if not referred:
            problems.append("an illegal-content case is closed only after a recorded referral")
    else:
        reviews = reviews if reviews is not None else list(case.reviews.all())
        if not reviews:
            problems.append("record the two-person review before closing (STM-168)")
        elif not any(r.is_confirmed for r in reviews):
            problems.append("the second reviewer has not yet confirmed the review (STM-168)")
    return problems


def close_as_not_an_incident(
    case: Case, actor: User, handled_as: str, outcome: str, request: Any = None
) -> bool:
    """Close a case the monitor opened for an alert that the DSL found to be a safeguarding
    concern or a false positive (issue 13), so it is not counted as an ICT incident. Only an
    untouched case: once actions or a review are recorded it is an incident in its own right.
    True if it was closed."""
    if case.is_closed or case.actions.exists() or case.reviews.exists():
        return False
    case.status = Status.CLOSED
    case.handled_as = handled_as
    case.outcome = outcome
    case.closed_at = timezone.now()
    case.save(update_fields=["status", "handled_as", "outcome", "closed_at"])
    record(actor, "case.handed-over", case, {"as": handled_as, "outcome": outcome}, request)
    return True
