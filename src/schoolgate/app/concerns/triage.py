"""Triage of monitoring alerts by the DSL (issue 13).

An alert (the monitor's `alerts.Alert`, with its context bundle) is judged a true positive —
then it is attached to an open concern about the pupil or opens one, in a category from the
policy — or a false positive, with the reason. Either way the case the monitor opened for it,
if nobody has worked on it, is closed as "not an ICT incident" so the governors' incident
figures count only incidents. A false positive may propose excluding a site or a search term
from alerting; a second person approves or rejects the proposal (four eyes, STM-318's
"author and approver" for changes to what is filtered and monitored). An approved exclusion is
published at once with the filter changes, in the changes file beside the policy, and reaches
the gateway's snapshot (governance/publish.py): from then on the gateway does not alert on it.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.alerts.models import Alert
from schoolgate.app.alerts.models import Status as AlertStatus
from schoolgate.app.audit.trail import record
from schoolgate.app.cases.workflow import close_as_not_an_incident
from schoolgate.app.concerns import workflow
from schoolgate.app.concerns.models import (
    AlertWork,
    Concern,
    ConcernSource,
    ExclusionProposal,
    ProposalStatus,
    Verdict,
)
from schoolgate.app.concerns.notifications import notify, safeguarding_leads
from schoolgate.app.governance.publish import publish
from schoolgate.app.people.models import User
from schoolgate.app.roles import Role
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.engine.targets import TargetError, parse_target
from schoolgate.engine.taxonomy import CATEGORIES, KEYWORD_LIBRARIES

ConcernError = workflow.ConcernError


def theme_title(theme: str) -> str:
    if theme in KEYWORD_LIBRARIES:
        return KEYWORD_LIBRARIES[theme]
    category = CATEGORIES.get(theme)
    return getattr(category, "title", None) or theme.replace("-", " ").capitalize()


def work_for(alert: Alert) -> AlertWork:
    work, _ = AlertWork.objects.get_or_create(alert=alert)
    return work


def assign(
    alert: Alert, actor: User, priority: str, assignee: User | None, request: Any = None
) -> None:
    workflow.check_lead(assignee)
    work = work_for(alert)
    work.priority, work.assigned_to = priority, assignee
    work.save(update_fields=["priority", "assigned_to"])
    record(
        actor,
        "alert.assign",
        alert,
        {"priority": priority, "assigned_to": assignee.username if assignee else ""},
        request=request,
    )
    if assignee is not None:
        notify(
            [assignee],
            f"{workflow.name_of(actor)} gave you a {priority}-priority alert: "
            f"{theme_title(alert.theme)}",
            reverse("alert-detail", args=[alert.pk]),
            exclude=actor,
        )


def triage(alert: Alert, actor: User, data: dict[str, Any], request: Any = None) -> Concern | None:
    """Record the verdict; returns the concern a true positive went to."""
    if not alert.is_open or alert.status != AlertStatus.NEW:
        raise ConcernError("this alert has already been triaged")
    reason = data["reason"].strip()
    if not reason:
        raise ConcernError("give the reason for the verdict")
    with transaction.atomic():
        work = work_for(alert)
        concern = None
        if data["verdict"] == Verdict.TRUE_POSITIVE:
            concern = _to_concern(alert, actor, data, request)
            alert.status = AlertStatus.TRIAGED
            handled, outcome = "concern", f"Recorded as safeguarding concern {concern.reference}"
        else:
            alert.status = AlertStatus.DISMISSED
            handled, outcome = "false-positive", f"False-positive monitoring alert: {reason}"
            if data.get("exclude_kind"):
                propose_exclusion(alert, actor, data["exclude_kind"], data["exclude_value"], reason)
        alert.save(update_fields=["status", "updated_at"])
        work.verdict, work.reason, work.concern = data["verdict"], reason, concern
        work.decided_by, work.decided_at = actor, timezone.now()
        work.save()
        record(
            actor,
            "alert.triage",
            alert,
            {
                "verdict": data["verdict"],
                "reason": reason,
                "concern": concern.reference if concern else "",
            },
            request=request,
        )
        if alert.case is not None:
            close_as_not_an_incident(alert.case, actor, handled, outcome, request)
    return concern


def _to_concern(alert: Alert, actor: User, data: dict[str, Any], request: Any) -> Concern:
    existing = data.get("attach_to")
    if existing is not None:
        workflow.ensure_open(existing)
        record(actor, "concern.alert-attached", existing, {"alert": alert.pk}, request=request)
        return existing
    pupils = [alert.person] if alert.person and alert.person.role == Role.PUPIL else []
    who = "" if pupils else (alert.user or f"the device at {alert.address}")
    attempts = f"{alert.count} attempt{'s' if alert.count != 1 else ''}"
    fields = {
        "category": data["category"],
        "summary": f"Monitoring alert: {theme_title(alert.theme)}, {attempts}"[:200],
        "details": data["reason"].strip(),
        "others_text": who,
        "occurred_at": alert.first,
        "priority": data["priority"],
        "assigned_to": data.get("assigned_to"),
    }
    workflow.check_lead(fields["assigned_to"])
    return workflow.open_concern(
        actor,
        ConcernSource.ALERT,
        fields,
        pupils,
        request=request,
        audit_action="concern.from-alert",
        audit_detail={"alert": alert.pk},
    )


def propose_exclusion(
    alert: Alert | None, actor: User, kind: str, value: str, reason: str, request: Any = None
) -> ExclusionProposal:
    if not value.strip():
        raise ConcernError("say which site or search term to exclude")
    if kind == "site":
        try:
            parse_target(value.strip())
        except TargetError as exc:
            raise ConcernError(f"{value.strip()!r} is not a host name or URL: {exc}") from None
    proposal = ExclusionProposal.objects.create(
        alert=alert,
        kind=kind,
        value=value.strip()[:300],
        theme=alert.theme if alert else "",
        reason=reason,
        proposed_by=actor,
        proposed_at=timezone.now(),
    )
    record(
        actor,
        "exclusion.propose",
        proposal,
        {"kind": kind, "value": proposal.value, "reason": reason},
        request=request,
    )
    notify(
        safeguarding_leads(),
        f"{workflow.name_of(actor)} proposes excluding a {kind} from alerts: please approve or not",
        reverse("exclusion-list"),
        exclude=actor,
    )
    return proposal


def decide_exclusion(
    proposal: ExclusionProposal, actor: User, approve: bool, note: str, request: Any = None
) -> None:
    if proposal.proposed_by_id == actor.pk:
        record(actor, "exclusion.decide-refused", proposal, {}, request=request)
        raise ConcernError("a second person must approve or reject your own proposal")
    if proposal.status != ProposalStatus.PENDING:
        raise ConcernError("this proposal has already been decided")
    proposal.status = ProposalStatus.APPROVED if approve else ProposalStatus.REJECTED
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.decision_note = note.strip()[:500]
    try:
        with transaction.atomic():
            proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
            if approve:
                publish()  # into the changes file and the gateway's snapshot, or not at all
    except PolicyError as exc:
        proposal.refresh_from_db()
        raise ConcernError(f"the exclusion cannot be published: {exc}") from None
    record(
        actor,
        f"exclusion.{'approve' if approve else 'reject'}",
        proposal,
        {"kind": proposal.kind, "value": proposal.value, "note": proposal.decision_note},
        request=request,
    )
    notify(
        [proposal.proposed_by],
        f"{workflow.name_of(actor)} {proposal.get_status_display().lower()} your exclusion of "
        f"{proposal.value}",
        reverse("exclusion-list"),
    )


def alerts_for_concern(concern: Concern) -> list[Alert]:
    return list(Alert.objects.filter(work__concern=concern).order_by("first"))
