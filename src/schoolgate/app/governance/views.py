"""Filter change control (issue 12): propose, decide (four eyes), and the change-control log.

A proposal names what changes for whom, until when and why; anyone holding DECIDE_CHANGE except
its author approves or rejects it (STM-315); an approval is published at once to the changes
file beside the policy and to the gateway's snapshot, the principal is e-mailed (STM-315,
STM-320), and an unblock request it came from is answered. A change can be withdrawn by its
author, an approver or a DSL: an approved one leaves the changes file and the gateway's snapshot
at once, and the principal is told (STM-315). Every step is audited.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit import trail
from schoolgate.app.concerns.models import ExclusionProposal
from schoolgate.app.console.inbox import publish_answers
from schoolgate.app.console.models import UnblockRequest
from schoolgate.app.governance.forms import ProposalForm
from schoolgate.app.governance.models import FilterChange, FourEyesError
from schoolgate.app.governance.publish import exclusion_reason, publish
from schoolgate.app.policy import current_policy
from schoolgate.app.roles import Capability, allows
from schoolgate.app.spreadsheet import csv_download
from schoolgate.engine.policy.loader import PolicyError

PRINCIPAL_ROLES = ("principal", "headteacher", "executive-principal", "head-of-school")
LOG_COLUMNS = [
    "No.", "Proposed", "Proposed by", "Change", "Groups", "Users", "Until", "Reason", "Status",
    "Decided by", "Decided", "Note",
]  # fmt: skip


@requires(Capability.CHANGE_LOG)
@require_GET
def change_list(request: HttpRequest) -> HttpResponse:
    waiting = FilterChange.objects.filter(status=FilterChange.Status.PROPOSED)
    decided = FilterChange.objects.exclude(status=FilterChange.Status.PROPOSED)[:200]
    trail.record(request.user, "filter-change.list-viewed", None, {}, request)
    return render(
        request,
        "app/governance/changes.html",
        {
            "waiting": _with_group_names(waiting.select_related("proposed_by")),
            "decided": _with_group_names(decided),
            "may_propose": allows(request.user.role, Capability.PROPOSE_CHANGE),
        },
    )


@requires(Capability.PROPOSE_CHANGE)
def propose(request: HttpRequest) -> HttpResponse:
    origin = _origin_request(request)
    form = ProposalForm(request.POST or None, initial=_initial(origin), groups=_group_choices())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        change = FilterChange.objects.create(
            action=data["action"],
            groups=data["groups"],
            sites=data["sites"],
            users=data["users"],
            until=data["until"],
            reason=data["reason"],
            proposed_by=request.user,
            request=origin,
        )
        trail.record(request.user, "filter-change.proposed", change, _summary(change), request)
        messages.success(request, f"Change {change.pk} proposed: a second person must approve it.")
        return redirect("filter-change", change.pk)
    return render(request, "app/governance/propose.html", {"form": form, "origin": origin})


@requires(Capability.CHANGE_LOG)
def change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(FilterChange.objects.select_related("proposed_by"), pk=pk)
    trail.record(request.user, "filter-change.viewed", change, {}, request)
    return render(
        request,
        "app/governance/change.html",
        {
            "change": _with_group_names([change])[0],
            "may_decide": _may_decide(request.user, change),
            "may_withdraw": change.may_withdraw(request.user),
        },
    )


@requires(Capability.CHANGE_LOG)
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(FilterChange, pk=pk)
    note = request.POST.get("note", "").strip()
    try:
        with transaction.atomic():
            was_in_force = change.withdraw(request.user, note)
            if was_in_force:
                publish()  # the change leaves the changes file and the gateway's snapshot
    except PermissionError as exc:
        return HttpResponseForbidden(f"Not withdrawn: {exc}.")
    except (ValueError, PolicyError) as exc:
        messages.error(request, f"Not withdrawn: {exc}")
        return redirect("filter-change", pk)
    facts = _summary(change) | {"note": note, "was_in_force": was_in_force}
    trail.record(request.user, "filter-change.withdrawn", change, facts, request)
    if was_in_force:
        _tell_principal(change, withdrawn=True)
        _tell_requester_withdrawn(change, request.user)
        messages.success(request, f"Change {change.pk} withdrawn: the filter drops it now.")
    else:
        messages.success(request, f"Change {change.pk} withdrawn before anyone approved it.")
    return redirect("filter-change", pk)


@requires(Capability.DECIDE_CHANGE)
@require_POST
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(FilterChange, pk=pk)
    approve = request.POST.get("decision") == "approve"
    note = request.POST.get("note", "").strip()
    try:
        with transaction.atomic():
            change.decide(request.user, approve=approve, note=note)
            if approve:
                publish()
    except FourEyesError as exc:
        messages.error(request, f"Not decided: {exc}.")
        return redirect("filter-change", pk)
    except (ValueError, PolicyError) as exc:
        messages.error(request, f"Not decided: {exc}")
        return redirect("filter-change", pk)
    trail.record(
        request.user,
        "filter-change.approved" if approve else "filter-change.rejected",
        change,
        _summary(change) | {"note": note},
        request,
    )
    if approve:
        _tell_principal(change)
        _answer_requester(change, request.user)
        messages.success(request, f"Change {change.pk} approved: the filter has it now.")
    else:
        messages.success(request, f"Change {change.pk} rejected.")
    return redirect("filter-change", pk)


@requires(Capability.CHANGE_LOG)
@require_GET
def change_log(request: HttpRequest) -> HttpResponse:
    rows = _log_rows()
    trail.record(request.user, "filter-change.log-viewed", None, {"rows": len(rows)}, request)
    if request.GET.get("format") == "csv":
        return csv_download("filter-change-log.csv", LOG_COLUMNS, rows)
    return render(
        request, "app/governance/change_log.html", {"columns": LOG_COLUMNS, "rows": rows}
    )


def _log_rows() -> list[list[str]]:
    """Every filter change, then every alert exclusion from the DSL inbox (its value and who
    decided, never the DSL's reason), in the order they were proposed."""
    rows = _change_rows() + _exclusion_rows()
    return [row for _, row in sorted(rows, key=lambda item: item[0])]


def _exclusion_rows() -> list[tuple]:
    rows = []
    proposals = ExclusionProposal.objects.select_related("proposed_by", "decided_by")
    for p in proposals:
        what = "site" if p.kind == "site" else "search term"
        rows.append(
            (
                p.proposed_at,
                [
                    f"E{p.pk}",
                    timezone.localtime(p.proposed_at).strftime("%d/%m/%Y %H:%M"),
                    _name(p.proposed_by),
                    f"Stop alerting on {what} “{p.value}”",
                    "All groups",
                    "",
                    "",
                    exclusion_reason(p),
                    p.get_status_display(),
                    _name(p.decided_by) if p.decided_by else "",
                    _when(p.decided_at),
                    "",
                ],
            )
        )
    return rows


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%d/%m/%Y %H:%M") if moment else ""


def _change_rows() -> list[tuple]:
    rows = []
    titles = dict(_group_choices())
    related = ("proposed_by", "decided_by", "withdrawn_by")
    for c in FilterChange.objects.select_related(*related).order_by("id"):
        rows.append(
            (c.proposed_at, [
                str(c.pk),
                timezone.localtime(c.proposed_at).strftime("%d/%m/%Y %H:%M"),
                _name(c.proposed_by),
                c.what,
                ", ".join(titles.get(g, g) for g in c.groups),
                ", ".join(c.users),
                timezone.localtime(c.until).strftime("%d/%m/%Y %H:%M") if c.until else "",
                c.reason,
                _status_words(c),
                _name(c.decided_by) if c.decided_by else "",
                timezone.localtime(c.decided_at).strftime("%d/%m/%Y %H:%M") if c.decided_at else "",
                c.decision_note,
            ])
        )  # fmt: skip
    return rows


def _status_words(change: FilterChange) -> str:
    """The log's status: "Expired", or "Withdrawn by X, 03/12/2026 19:30: why"."""
    if change.status != FilterChange.Status.WITHDRAWN or change.withdrawn_by is None:
        return change.status_label
    when = timezone.localtime(change.withdrawn_at).strftime("%d/%m/%Y %H:%M")
    note = f": {change.withdrawal_note}" if change.withdrawal_note else ""
    return f"Withdrawn by {_name(change.withdrawn_by)}, {when}{note}"


def _with_group_names(changes) -> list[FilterChange]:
    """Each change with `group_names`: the groups' titles from the policy, not their ids."""
    titles = dict(_group_choices())
    changes = list(changes)
    for change in changes:
        change.group_names = ", ".join(titles.get(g, g) for g in change.groups)
    return changes


def _may_decide(user, change: FilterChange) -> bool:
    return (
        change.status == FilterChange.Status.PROPOSED
        and user.pk != change.proposed_by_id
        and allows(user.role, Capability.DECIDE_CHANGE)
    )


def _origin_request(request: HttpRequest) -> UnblockRequest | None:
    key = request.GET.get("request") or request.POST.get("request")
    if not key or not str(key).isdigit():
        return None
    return UnblockRequest.objects.filter(pk=int(key)).first()


def _initial(origin: UnblockRequest | None) -> dict:
    if origin is None:
        return {"action": "allow"}
    return {
        "action": "allow" if origin.kind == UnblockRequest.Kind.UNBLOCK else "block",
        "groups": [origin.group] if origin.group else [],
        "sites": origin.url,
        "reason": origin.message[:300],
    }


def _group_choices() -> list[tuple[str, str]]:
    return [(g.id, g.title) for g in current_policy().groups]


def _summary(change: FilterChange) -> dict:
    return {"action": change.action, "groups": change.groups, "sites": change.sites[:20],
            "users": change.users, "until": str(change.until or "")}  # fmt: skip


def _name(user) -> str:
    return f"{user.get_full_name() or user.username}"


def _tell_principal(change: FilterChange, withdrawn: bool = False) -> None:
    """STM-315: every change reported to a second responsible person (the principal); STM-320:
    the principal informed whenever filtering is switched off. A withdrawal is a change too."""
    policy = current_policy()
    to = [c.email for c in policy.contacts if c.role in PRINCIPAL_ROLES and c.email]
    if not to:
        return
    what = "Filtering switched off" if change.is_switch_off else "Filter change approved"
    if withdrawn:
        what = f"Filter change withdrawn by {_name(change.withdrawn_by)}"
    until = timezone.localtime(change.until).strftime("%d %b %Y %H:%M") if change.until else ""
    send_mail(
        f"{what}: change {change.pk} at {policy.school.name}",
        f"{what} (change {change.pk}).\n\nChange: {change.what}\nGroups: "
        f"{', '.join(change.groups)}\nUsers: {', '.join(change.users) or 'everyone in the groups'}"
        f"\nEnds: {until or 'when withdrawn'}\nReason: {change.reason}\nProposed by: "
        f"{_name(change.proposed_by)}\nApproved by: {_name(change.decided_by)}\n",
        None,
        to,
        fail_silently=True,
    )


def _tell_requester_withdrawn(change: FilterChange, user) -> None:
    """The person whose request the change answered sees, on the gateway's "My requests" page,
    that it has ended, and why."""
    origin = change.request
    if origin is None:
        return
    when = timezone.localtime(change.withdrawn_at).strftime("%d %b %Y %H:%M")
    why = f": {change.withdrawal_note}" if change.withdrawal_note else "."
    origin.status = UnblockRequest.Status.ANSWERED
    origin.response = f"Withdrawn on {when}: {change.what} no longer applies{why}"
    origin.answered_by, origin.answered_at = user, timezone.now()
    origin.save()
    publish_answers(Path(settings.SCHOOLGATE_GATEWAY_STATE))


def _answer_requester(change: FilterChange, user) -> None:
    """The request is "approved" only when the change gives what was asked (an unblock request
    and an allow, a missed-site report and a block or warning); otherwise it is answered with
    what was decided. The answer is published to the gateway's "my requests" page at once."""
    origin = change.request
    if origin is None:
        return
    now = timezone.now()
    asked_unblock = origin.kind == UnblockRequest.Kind.UNBLOCK
    granted = (change.action == "allow") == asked_unblock
    origin.status = UnblockRequest.Status.APPROVED if granted else UnblockRequest.Status.ANSWERED
    origin.response = f"{'Approved' if granted else 'Decided'}: {change.what}. {change.reason}"
    origin.answered_by = origin.decided_by = user
    origin.answered_at = origin.decided_at = now
    origin.reason = change.decision_note or change.reason
    origin.save()
    publish_answers(Path(settings.SCHOOLGATE_GATEWAY_STATE))
