"""Raising a safeguarding concern, the DSL's list and the concern page with its steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit.trail import record
from schoolgate.app.audit.words import timeline
from schoolgate.app.concerns import forms, workflow
from schoolgate.app.concerns.models import (
    Concern,
    ConcernSource,
    ConcernStatus,
    Priority,
    Task,
)
from schoolgate.app.concerns.triage import alerts_for_concern
from schoolgate.app.policy import find_concern_category
from schoolgate.app.roles import Capability, allows

PER_PAGE = 50


@requires(Capability.REPORT_CONCERN)
@require_http_methods(["GET", "POST"])
def raise_concern(request: HttpRequest) -> HttpResponse:
    form = forms.RaiseConcernForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {k: data[k] for k in ("category", "others_text", "summary", "occurred_at", "url")}
        fields["details"] = data["details"]
        source = (
            ConcernSource.DSL
            if allows(request.user.role, Capability.MANAGE_CONCERNS)
            else ConcernSource.STAFF
        )
        concern = workflow.open_concern(
            request.user, source, fields, data["pupils"], request=request
        )
        if allows(request.user.role, Capability.MANAGE_CONCERNS):
            return redirect("concern-detail", concern.pk)
        return render(request, "app/concern_thanks.html", {"concern": concern})
    return render(request, "app/concern_raise.html", {"form": form})


def _filtered(request: HttpRequest) -> tuple[QuerySet[Concern], dict[str, str]]:
    given = {k: request.GET.get(k, "").strip() for k in ("q", "status", "category", "priority")}
    given["assigned"] = request.GET.get("assigned", "")
    concerns = Concern.objects.all()
    if given["status"] == "":
        concerns = concerns.exclude(status=ConcernStatus.CLOSED)
    elif given["status"] in ConcernStatus.values:
        concerns = concerns.filter(status=given["status"])
    if given["category"]:
        concerns = concerns.filter(category=given["category"])
    if given["priority"] in Priority.values:
        concerns = concerns.filter(priority=given["priority"])
    if given["assigned"] == "me":
        concerns = concerns.filter(assigned_to=request.user)
    elif given["assigned"] == "nobody":
        concerns = concerns.filter(assigned_to=None)
    if query := given["q"]:
        number = query.upper().removeprefix("SC-").lstrip("0")
        match = Q(summary__icontains=query) | Q(pupils__last_name__istartswith=query)
        match |= Q(pupils__first_name__istartswith=query)
        match |= Q(pupils__registration_group__iexact=query)
        if number.isdigit():
            match |= Q(pk=int(number))
        concerns = concerns.filter(match).distinct()
    return concerns, given


@requires(Capability.MANAGE_CONCERNS)
@require_GET
def concern_list(request: HttpRequest) -> HttpResponse:
    concerns, given = _filtered(request)
    page = Paginator(
        concerns.select_related("assigned_to").prefetch_related("pupils").order_by("-id"),
        PER_PAGE,
    ).get_page(request.GET.get("page"))
    record(request.user, "concern.list", None, {**given, "page": page.number}, request=request)
    titles = dict(forms.category_choices())
    rows = [(c, titles.get(c.category, c.category)) for c in page.object_list]
    query = urlencode({k: v for k, v in given.items() if v})
    return render(
        request,
        "app/concern_list.html",
        {
            "page": page,
            "rows": rows,
            "given": given,
            "query": query,
            "statuses": ConcernStatus.choices,
            "categories": forms.category_choices(),
            "priorities": Priority.choices,
        },
    )


def _open_step(concern: Concern, forms_given: dict[str, Any]) -> str:
    if forms_given:
        return next(iter(forms_given)).removesuffix("_form")
    if concern.status == ConcernStatus.NEW or concern.assigned_to_id is None:
        return "update"
    return ""


def _detail_context(concern: Concern, user: Any, **forms_given: Any) -> dict[str, Any]:
    category = find_concern_category(concern.category)
    defaults = {
        "update_form": forms.UpdateForm(
            initial={
                "category": concern.category,
                "status": concern.status,
                "priority": concern.priority,
                "assigned_to": concern.assigned_to_id or user.pk,
            }
        ),
        "task_form": forms.TaskForm(initial={"assigned_to": user.pk}),
        "referral_form": forms.ReferralForm(),
        "note_form": forms.NoteForm(),
        "close_form": forms.CloseForm(),
    }
    return {
        "concern": concern,
        "category": category,
        "pupils": list(concern.pupils.all()),
        "tasks": list(concern.tasks.select_related("assigned_to", "done_by")),
        "referrals": list(concern.referrals.select_related("by")),
        "timeline": timeline("concern", concern.pk),
        "closing_problems": workflow.closing_problems(concern),
        "open_step": _open_step(concern, forms_given),
        "linked_alerts": alerts_for_concern(concern),
        **defaults,
        **forms_given,
    }


@requires(Capability.MANAGE_CONCERNS)
@require_GET
def concern_detail(request: HttpRequest, pk: int) -> HttpResponse:
    concern = get_object_or_404(Concern.objects.select_related("reported_by", "assigned_to"), pk=pk)
    record(request.user, "concern.view", concern, request=request)
    return render(request, "app/concern_detail.html", _detail_context(concern, request.user))


def _step(
    form_name: str,
    form_class: Callable[..., Any],
    act: Callable[[HttpRequest, Concern, dict[str, Any]], object],
) -> Callable[..., HttpResponse]:
    """A POST-only step on a concern: validate the form, act, or show the page with errors."""

    @requires(Capability.MANAGE_CONCERNS)
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        concern = get_object_or_404(Concern, pk=pk)
        form = form_class(request.POST)
        if form.is_valid():
            try:
                act(request, concern, form.cleaned_data)
            except workflow.ConcernError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("concern-detail", concern.pk)
        context = _detail_context(concern, request.user, **{form_name: form})
        return render(request, "app/concern_detail.html", context, status=400)

    return view


update = _step(
    "update_form",
    forms.UpdateForm,
    lambda request, concern, data: workflow.update(concern, request.user, data, request),
)
add_task = _step(
    "task_form",
    forms.TaskForm,
    lambda request, concern, data: workflow.add_task(
        concern, request.user, data["title"], data["assigned_to"], data["due"], request
    ),
)
add_referral = _step(
    "referral_form",
    forms.ReferralForm,
    lambda request, concern, data: workflow.add_referral(concern, request.user, data, request),
)
add_note = _step(
    "note_form",
    forms.NoteForm,
    lambda request, concern, data: workflow.add_note(concern, request.user, data["text"], request),
)
close = _step(
    "close_form",
    forms.CloseForm,
    lambda request, concern, data: workflow.close(concern, request.user, data["outcome"], request),
)


@requires(Capability.MANAGE_CONCERNS)
@require_POST
def task_done(request: HttpRequest, pk: int, task_pk: int) -> HttpResponse:
    task = get_object_or_404(Task.objects.select_related("concern"), pk=task_pk, concern_id=pk)
    try:
        workflow.complete_task(task, request.user, request)
    except workflow.ConcernError as exc:
        messages.error(request, str(exc))
    return redirect("concern-detail", pk)
