"""The network manager's console: dashboard, query log, "why is this blocked?", devices and
the unblock-request queue (issue 13).

Access: every view names its capability (`roles.py`). Looking at anyone's browsing is audited
with the filters used (who looked at whose activity, STM-099, STM-318); device changes and
answers to requests are audited as changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit import trail
from schoolgate.app.console import charts, events
from schoolgate.app.console.devices import publish
from schoolgate.app.console.forms import AnswerForm, DeviceForm, QueryLogForm, TesterForm
from schoolgate.app.console.gateway_state import current_decider, health
from schoolgate.app.console.inbox import import_requests, publish_answers
from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.app.people.models import User
from schoolgate.app.roles import Capability
from schoolgate.engine.decide import Subject, UnknownGroupError
from schoolgate.gateway.identity import BindingError

PAGE_SIZE = 50
RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


# Dashboard ------------------------------------------------------------------------------------


@requires(Capability.CONSOLE_DASHBOARD)
def dashboard(request: HttpRequest) -> HttpResponse:
    span = request.GET.get("range", "24h")
    span = span if span in RANGES else "24h"
    before = _next_hour(datetime.now(UTC))
    since = before - RANGES[span]
    summary = events.dashboard_summary(since, before, daily=span != "24h")
    buckets = [
        charts.Bucket(_bucket_label(b.hour, span), b.total, b.blocked) for b in summary.buckets
    ]
    context = {
        "span": span,
        "spans": [("24h", "Last 24 hours"), ("7d", "Last 7 days"), ("30d", "Last 30 days")],
        "summary": summary,
        "chart": charts.bar_chart(buckets),
        "health": health(),
        "new_requests": UnblockRequest.objects.filter(status=UnblockRequest.Status.NEW).count(),
    }
    return render(request, "app/console/dashboard.html", context)


def _next_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def _bucket_label(moment: datetime, span: str) -> str:
    local = timezone.localtime(moment)
    if span == "24h":
        return local.strftime("%H:00")
    return local.strftime("%d %b")


# Query log ------------------------------------------------------------------------------------


@requires(Capability.QUERY_LOG)
def query_log(request: HttpRequest) -> HttpResponse:
    form = QueryLogForm(request.GET or None)
    rows: list = []
    next_url = ""
    filters: dict[str, object] = {}
    if form.is_bound and form.is_valid():
        filters = _store_filters(form.cleaned_data)
    elif not form.is_bound:
        filters = {"since": datetime.now(UTC) - timedelta(hours=24)}
    if form.is_valid() or not form.is_bound:
        cursor = _cursor(request.GET.get("page_before"))
        page_filters = dict(filters)
        if cursor is not None:
            page_filters["before"] = min(cursor, filters.get("before") or cursor)
        rows = events.search(page_filters, PAGE_SIZE + 1)
        if len(rows) > PAGE_SIZE:
            rows = rows[:PAGE_SIZE]
            query = request.GET.copy()
            query["page_before"] = str(events.cursor_of(rows[-1]))
            next_url = "?" + query.urlencode()
        trail.record(
            request.user,
            "console.query-log-viewed",
            detail={k: str(v) for k, v in page_filters.items()} | {"rows": len(rows)},
            request=request,
        )
    return render(
        request,
        "app/console/query_log.html",
        {
            "form": form,
            "rows": rows,
            "next_url": next_url,
            "first_page": not request.GET.get("page_before"),
        },
    )


def _store_filters(data: dict) -> dict[str, object]:
    filters: dict[str, object] = {}
    for name, key in (
        ("user", "user"),
        ("address", "address"),
        ("site", "host"),
        ("category", "category"),
        ("action", "action"),
    ):
        if data.get(name):
            filters[key] = data[name].strip()
    if data.get("since"):
        filters["since"] = data["since"]
    if data.get("until"):
        filters["before"] = data["until"]
    return filters


def _cursor(text: str | None) -> datetime | None:
    if not text or not text.isdigit():
        return None
    return events.from_cursor(int(text))


# Why is this blocked? ------------------------------------------------------------------------


@requires(Capability.TEST_URL)
def tester(request: HttpRequest) -> HttpResponse:
    form = TesterForm(request.GET or None)
    decision = None
    problem = ""
    loaded = current_decider()
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        group = data["group"] or None
        username = data["user"].strip()
        if username and not group:
            person = User.objects.filter(username=username).first()
            if person is None or not person.policy_group:
                problem = f"No user {username!r} with a policy group; choose a group instead."
            else:
                group = person.policy_group
        if not problem:
            at = data["at"] or timezone.now()  # empty: now (the engine reads no clock)
            subject = Subject(group=group, user=username or None)
            try:
                decision = loaded.decider.decide(subject, data["url"], at)
            except UnknownGroupError as exc:
                problem = str(exc)
            trail.record(
                request.user,
                "console.url-tested",
                detail={"url": data["url"], "group": group or "", "user": username},
                request=request,
            )
    return render(
        request,
        "app/console/tester.html",
        {"form": form, "decision": decision, "problem": problem, "loaded": loaded},
    )


# Devices --------------------------------------------------------------------------------------


@requires(Capability.MANAGE_DEVICES)
def device_list(request: HttpRequest) -> HttpResponse:
    groups = {g.id: g.title for g in current_decider().decider.policy.groups}
    devices = [
        (d, groups.get(d.group, f"{d.group} (not in the policy)")) for d in Device.objects.all()
    ]
    return render(
        request,
        "app/console/devices.html",
        {"devices": devices, "bindings_file": settings.SCHOOLGATE_BINDINGS_FILE},
    )


@requires(Capability.MANAGE_DEVICES)
def device_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk) if pk is not None else None
    form = DeviceForm(request.POST or None, instance=device)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.updated_by = request.user
            saved.save()
            if not _published(request):
                transaction.set_rollback(True)
                return render(request, "app/console/device_form.html", {"form": form})
        trail.record(
            request.user,
            "console.device-saved",
            saved,
            {"address": saved.address, "group": saved.group, "user": saved.user},
            request,
        )
        messages.success(request, f"Saved {saved}; the gateway uses it within a second.")
        return redirect("console-devices")
    return render(request, "app/console/device_form.html", {"form": form, "device": device})


@require_POST
@requires(Capability.MANAGE_DEVICES)
def device_delete(request: HttpRequest, pk: int) -> HttpResponse:
    device = get_object_or_404(Device, pk=pk)
    with transaction.atomic():
        detail = {"address": device.address, "group": device.group}
        device.delete()
        if not _published(request):
            transaction.set_rollback(True)
            return redirect("console-devices")
    trail.record(request.user, "console.device-removed", None, detail | {"id": pk}, request)
    messages.success(request, f"Removed {detail['address']}.")
    return redirect("console-devices")


def _published(request: HttpRequest) -> bool:
    try:
        publish(Path(settings.SCHOOLGATE_BINDINGS_FILE), Device.objects.all())
    except (OSError, BindingError) as exc:
        messages.error(
            request, f"Not saved: the gateway's bindings file could not be written: {exc}"
        )
        return False
    return True


# Unblock requests -----------------------------------------------------------------------------


@requires(Capability.HANDLE_REQUESTS)
def request_list(request: HttpRequest) -> HttpResponse:
    result = import_requests(Path(settings.SCHOOLGATE_GATEWAY_STATE))
    for problem in result.problems[:5]:
        messages.error(request, problem)
    status = request.GET.get("status", "new")
    queryset = UnblockRequest.objects.all()
    if status in UnblockRequest.Status.values:
        queryset = queryset.filter(status=status)
    tabs = [("new", "New"), ("answered", "Answered"), ("declined", "Declined"), ("all", "All")]
    return render(
        request,
        "app/console/requests.html",
        {"requests": queryset[:200], "status": status, "tabs": tabs},
    )


@requires(Capability.HANDLE_REQUESTS)
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(UnblockRequest, pk=pk)
    form = AnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        now = timezone.now()
        item.status = data["status"]
        item.response = data["response"]
        item.answered_by, item.answered_at = request.user, now
        if item.status == UnblockRequest.Status.DECLINED:
            item.decided_by, item.decided_at, item.reason = request.user, now, data["reason"]
        item.save()
        publish_answers(Path(settings.SCHOOLGATE_GATEWAY_STATE))
        trail.record(
            request.user, "console.request-answered", item, {"status": item.status}, request
        )
        messages.success(request, "Answer sent: the requester sees it on the gateway's page.")
        return redirect("console-requests")
    decision = None
    try:
        subject = Subject(group=item.group or None)
        decision = current_decider().decider.decide(subject, item.url, timezone.now())
    except Exception:  # a request for an address the engine cannot parse shows no decision
        decision = None
    return render(
        request,
        "app/console/request_detail.html",
        {"item": item, "form": form, "decision": decision},
    )


def tester_link(url: str, group: str) -> str:
    return "?" + urlencode({"url": url, "group": group})
