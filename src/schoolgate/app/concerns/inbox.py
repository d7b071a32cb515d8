"""The DSL's alerts inbox: new monitoring alerts with their context bundle, triage, assignment,
and the four-eyes queue of proposed exclusions (issue 13). DSL and deputies only; every list,
view and decision is audited, because an alert shows what a named child searched for."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from schoolgate.app.access import requires
from schoolgate.app.alerts.models import Alert, Level
from schoolgate.app.alerts.models import Status as AlertStatus
from schoolgate.app.audit.trail import record
from schoolgate.app.concerns import forms, triage
from schoolgate.app.concerns.models import (
    AlertWork,
    Concern,
    ConcernStatus,
    ExclusionProposal,
    ProposalStatus,
)
from schoolgate.app.people.models import User
from schoolgate.app.policy import concern_category_for_theme, current_policy
from schoolgate.app.roles import Capability
from schoolgate.events.store import host_of

PER_PAGE = 50


@requires(Capability.TRIAGE_ALERTS)
@require_GET
def alert_inbox(request: HttpRequest) -> HttpResponse:
    given = {k: request.GET.get(k, "").strip()[:64] for k in ("status", "level", "assigned")}
    alerts = Alert.objects.select_related("person", "work__assigned_to")
    status = given["status"] or AlertStatus.NEW
    if status in AlertStatus.values:
        alerts = alerts.filter(status=status)
    if given["level"] in Level.values:
        alerts = alerts.filter(level=given["level"])
    if given["assigned"] == "me":
        alerts = alerts.filter(work__assigned_to=request.user)
    page = Paginator(alerts.order_by("-last", "-id"), PER_PAGE).get_page(request.GET.get("page"))
    record(request.user, "alert.list", None, {**given, "page": page.number}, request=request)
    groups = _group_titles()
    rows = [
        (a, _work(a), triage.theme_title(a.theme), groups.get(a.group, a.group))
        for a in page.object_list
    ]
    return render(
        request,
        "app/alert_inbox.html",
        {
            "page": page,
            "rows": rows,
            "given": given | {"status": status},
            "query": urlencode({k: v for k, v in given.items() if v}),
            "statuses": AlertStatus.choices,
            "levels": Level.choices,
        },
    )


def _group_titles() -> dict[str, str]:
    return {g.id: g.title for g in current_policy().groups}


def _work(alert: Alert) -> AlertWork | None:
    try:
        return alert.work
    except AlertWork.DoesNotExist:
        return None


def _open_concerns(alert: Alert) -> Any:
    if alert.person is None:
        return Concern.objects.none()
    return Concern.objects.filter(pupils=alert.person).exclude(status=ConcernStatus.CLOSED)


def context_rows(alert: Alert) -> list[dict[str, str]]:
    """The context bundle (the pupil's searches and blocks before the alert) as table rows."""
    rows = []
    for event in alert.context.get("events", []):
        rows.append(
            {
                "at": str(event.get("at", ""))[:19].replace("T", " "),
                "action": str(event.get("action") or ""),
                "host": host_of(event.get("target")) or "",
                "search": str(event.get("search") or ""),
                "categories": ", ".join(str(c) for c in event.get("categories") or []),
            }
        )
    return rows


def _detail(request: HttpRequest, alert: Alert, status: int = 200, **forms_given: Any):
    work = _work(alert)
    suggested = concern_category_for_theme(alert.theme)
    open_concerns = _open_concerns(alert)
    defaults = {
        "triage_form": forms.AlertTriageForm(
            open_concerns=open_concerns,
            initial={
                "category": suggested.id if suggested else "",
                "priority": work.priority if work else "high",
                "assigned_to": (work.assigned_to_id if work else None) or request.user.pk,
            },
        ),
        "assign_form": forms.AlertAssignForm(
            initial={
                "priority": work.priority if work else "medium",
                "assigned_to": work.assigned_to_id if work else None,
            }
        ),
    }
    context = {
        "alert": alert,
        "work": work,
        "theme": triage.theme_title(alert.theme),
        "group": _group_titles().get(alert.group, alert.group),
        "events": context_rows(alert),
        "suggested": suggested,
        "open_concerns": list(open_concerns),
        "open_step": next(iter(forms_given), "triage_form").removesuffix("_form"),
        **defaults,
        **forms_given,
    }
    return render(request, "app/alert_detail.html", context, status=status)


def _alert(pk: int) -> Alert:
    return get_object_or_404(Alert.objects.select_related("person", "case"), pk=pk)


@requires(Capability.TRIAGE_ALERTS)
@require_GET
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(pk)
    record(request.user, "alert.view", alert, {"theme": alert.theme}, request=request)
    return _detail(request, alert)


@requires(Capability.TRIAGE_ALERTS)
@require_POST
def triage_alert(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(pk)
    form = forms.AlertTriageForm(request.POST, open_concerns=_open_concerns(alert))
    if form.is_valid():
        try:
            concern = triage.triage(alert, request.user, form.cleaned_data, request)
        except triage.ConcernError as exc:
            form.add_error(None, str(exc))
        else:
            if concern is not None:
                messages.success(request, f"Alert triaged into {concern.reference}.")
                return redirect("concern-detail", concern.pk)
            messages.success(request, "Alert dismissed as a false positive.")
            return redirect("alert-inbox")
    return _detail(request, alert, status=400, triage_form=form)


@requires(Capability.TRIAGE_ALERTS)
@require_POST
def assign_alert(request: HttpRequest, pk: int) -> HttpResponse:
    alert = _alert(pk)
    form = forms.AlertAssignForm(request.POST)
    if form.is_valid():
        try:
            triage.assign(
                alert,
                request.user,
                form.cleaned_data["priority"],
                form.cleaned_data["assigned_to"],
                request,
            )
        except triage.ConcernError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect("alert-detail", alert.pk)
    return _detail(request, alert, status=400, assign_form=form)


@requires(Capability.TRIAGE_ALERTS)
@require_GET
def exclusion_list(request: HttpRequest) -> HttpResponse:
    proposals = list(
        ExclusionProposal.objects.select_related("proposed_by", "decided_by", "alert")[:200]
    )
    record(request.user, "exclusion.list", None, {"shown": len(proposals)}, request=request)
    return render(
        request,
        "app/exclusions.html",
        {"proposals": proposals, "pending": ProposalStatus.PENDING, "form": forms.DecisionForm()},
    )


@requires(Capability.TRIAGE_ALERTS)
@require_POST
def decide_exclusion(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = get_object_or_404(ExclusionProposal, pk=pk)
    form = forms.DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve or reject.")
        return redirect("exclusion-list")
    try:
        triage.decide_exclusion(
            proposal,
            request.user,
            form.cleaned_data["decision"] == "approve",
            form.cleaned_data["note"],
            request,
        )
    except triage.ConcernError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Exclusion of {proposal.value} {proposal.status}.")
    return redirect("exclusion-list")


def alert_history(pupil: User) -> list[tuple[Any, str, str, str]]:
    """(when, reference, url, what) for a pupil's alerts and their triage, for the chronology."""
    from django.urls import reverse

    items = []
    alerts = Alert.objects.filter(person=pupil).select_related("work__concern")
    for alert in alerts:
        url = reverse("alert-detail", args=[alert.pk])
        ref = f"Alert A-{alert.pk:06d}"
        theme = triage.theme_title(alert.theme)
        items.append(
            (
                alert.first,
                ref,
                url,
                f"Monitoring alert: {theme} ({alert.level}), "
                f"{alert.count} attempt{'s' if alert.count != 1 else ''}",
            )
        )
        work = _work(alert)
        if work is not None and work.decided_at is not None:
            verdict = work.get_verdict_display()
            into = f" → {work.concern.reference}" if work.concern else ""
            items.append((work.decided_at, ref, url, f"Triaged: {verdict}{into}. {work.reason}"))
    return items
