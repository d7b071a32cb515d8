"""Reporting a concern, the case list and the case page with its steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.audit.trail import record
from schoolgate.app.cases import forms, workflow
from schoolgate.app.cases.models import Case, Evidence, Source, Status
from schoolgate.app.policy import find_incident
from schoolgate.app.roles import STAFF_ROLES, Capability, Role, allows


def _report_form(user: Any, data: Any = None) -> Any:
    if user.role == Role.PUPIL:
        return forms.PupilReportForm(data)
    if user.role == Role.PARENT:
        return forms.ParentReportForm(data, parent=user)
    if user.role in STAFF_ROLES:
        return forms.StaffReportForm(data)
    return forms.OtherReportForm(data)


@requires(Capability.REPORT)
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest) -> HttpResponse:
    form = _report_form(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        fields, involved, source = _case_fields(request.user, form.cleaned_data)
        case = workflow.open_case(request.user, source, fields, involved, request=request)
        if allows(request.user.role, Capability.VIEW_OWN_REPORTS):
            messages.success(request, f"Thank you. Your report is {case.reference}.")
            return redirect("case-detail", case.pk)
        return render(request, "app/report_thanks.html", {"pupil": request.user.role == Role.PUPIL})
    template = "app/report_pupil.html" if request.user.role == Role.PUPIL else "app/report.html"
    return render(request, template, {"form": form})


def _case_fields(user: Any, data: dict[str, Any]) -> tuple[dict[str, Any], list[Any], str]:
    if user.role == Role.PUPIL:
        fields = {
            "summary": _first_line(data["details"]),
            "details": data["details"],
            "url": data["where"],
            "involved_text": data["who"],
        }
        return fields, [user], Source.PUPIL
    if user.role == Role.PARENT:
        child = data.get("child")
        fields = {
            "summary": _first_line(data["details"]),
            "details": data["details"],
            "url": data["url"],
        }
        return fields, [child] if child else [], Source.PARENT
    if user.role in STAFF_ROLES:
        fields = {
            k: data[k]
            for k in ("summary", "occurred_at", "involved_text", "room", "device", "url", "details")
        }
        fields["illegal"] = data["suspected_illegal"]
        return fields, [*data["involved"], *data["involved_staff"]], Source.STAFF
    fields = {k: data[k] for k in ("summary", "details", "room", "url")}
    return fields, [], Source.OTHER


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "Concern"
    return line[:117] + "…" if len(line) > 120 else line


_LIST_FIELDS = ("id", "reported_at", "summary", "status", "illegal", "source", "reporter")
# Everything User.__str__ reads, so the list costs one query, not one per row.
_REPORTER_FIELDS = ("first_name", "last_name", "username", "role", "year", "registration_group")


@requires(Capability.VIEW_OWN_REPORTS)
@require_GET
def case_list(request: HttpRequest) -> HttpResponse:
    sees_all = allows(request.user.role, Capability.VIEW_ALL_CASES)
    ids = Case.objects.order_by("-id")
    if not sees_all:
        ids = ids.filter(reporter=request.user)
    status = request.GET.get("status", "")
    if status in Status.values:
        ids = ids.filter(status=status)
    # Paginate the ids alone (an index-only scan, even for deep pages), then fetch the page's
    # 50 rows by id: OFFSET over whole rows read every skipped row from the table.
    page = Paginator(ids.values_list("id", flat=True), settings.CASES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    cases = (
        Case.objects.select_related("reporter")
        .only(*_LIST_FIELDS, *(f"reporter__{name}" for name in _REPORTER_FIELDS))
        .filter(id__in=page.object_list)
        .order_by("-id")
    )
    record(
        request.user, "case.list", None, {"status": status, "page": page.number}, request=request
    )
    return render(
        request,
        "app/case_list.html",
        {
            "page": page,
            "cases": cases,
            "statuses": Status.choices,
            "status": status,
            "sees_all": sees_all,
        },
    )


def _visible_case(request: HttpRequest, pk: int) -> Case:
    case = get_object_or_404(Case.objects.select_related("reporter"), pk=pk)
    if allows(request.user.role, Capability.VIEW_ALL_CASES) or case.reporter_id == request.user.pk:
        return case
    record(request.user, "case.view-refused", case, request=request)
    raise PermissionDenied("this case is not yours to see")


@requires(Capability.VIEW_OWN_REPORTS)
@require_GET
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = _visible_case(request, pk)
    record(request.user, "case.view", case, request=request)
    if not allows(request.user.role, Capability.MANAGE_CASES):
        return render(request, "app/case_own.html", {"case": case})
    return render(request, "app/case_detail.html", _detail_context(case))


def _detail_context(case: Case, **forms_given: Any) -> dict[str, Any]:
    choice = find_incident(case.incident_type) if case.incident_type else None
    suggested = workflow.suggested_action_ids(case)
    timeline = (
        AuditEntry.objects.filter(object_type="case", object_id=str(case.pk))
        .exclude(action="case.view")
        .only("at", "actor_name", "action", "detail")
        .order_by("id")
    )
    involved = list(case.involved.prefetch_related("parents"))
    applied = list(case.actions.select_related("by"))
    reviews = list(case.reviews.select_related("first_reviewer", "second_reviewer"))
    defaults = {
        "triage_form": forms.TriageForm(
            initial={"incident_type": case.incident_type, "status": case.status}
        ),
        "actions_form": forms.ActionsForm(applies_to=case.applies_to, suggested=suggested)
        if choice
        else None,
        "review_form": forms.ReviewForm(),
        "evidence_form": forms.EvidenceForm(),
        "parent_form": forms.ParentContactForm(initial={"parent_name": _parent_names(involved)}),
        "note_form": forms.NoteForm(),
        "close_form": forms.CloseForm(),
    }
    return {
        "case": case,
        "incident": choice,
        "involved": involved,
        "applied": applied,
        "reviews": reviews,
        "evidence": list(case.evidence.prefetch_related("custody__actor")),
        "parent_contacts": list(case.parent_contacts.select_related("informed_by")),
        "timeline": timeline,
        "illegal_instructions": workflow.ILLEGAL_INSTRUCTIONS,
        "closing_problems": workflow.closing_problems(case, applied=applied, reviews=reviews),
        **defaults,
        **forms_given,
    }


def _parent_names(involved: list[Any]) -> str:
    parents = {p.get_full_name() for child in involved for p in child.parents.all()}
    return ", ".join(sorted(parents))


def _step(
    form_name: str,
    form_class: Callable[..., Any],
    act: Callable[[HttpRequest, Case, dict[str, Any]], object],
) -> Callable[..., HttpResponse]:
    """A POST-only case step for safeguarding leads: validate the form, act, or show errors."""

    @requires(Capability.MANAGE_CASES)
    @require_POST
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        case = get_object_or_404(Case, pk=pk)
        form = form_class(case, request)
        if form.is_valid():
            try:
                act(request, case, form.cleaned_data)
            except workflow.WorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("case-detail", case.pk)
        return render(
            request, "app/case_detail.html", _detail_context(case, **{form_name: form}), status=400
        )

    return view


triage = _step(
    "triage_form",
    lambda case, request: forms.TriageForm(request.POST),
    lambda request, case, data: workflow.triage(
        case, request.user, data["incident_type"], data["status"], data["note"], request
    ),
)
apply_actions = _step(
    "actions_form",
    lambda case, request: forms.ActionsForm(
        request.POST, applies_to=case.applies_to, suggested=workflow.suggested_action_ids(case)
    ),
    lambda request, case, data: workflow.apply_actions(
        case, request.user, data["actions"], data["reason"], request
    ),
)
review = _step(
    "review_form",
    lambda case, request: forms.ReviewForm(request.POST),
    lambda request, case, data: workflow.record_review(case, request.user, data, request),
)
add_evidence = _step(
    "evidence_form",
    lambda case, request: forms.EvidenceForm(request.POST, request.FILES),
    lambda request, case, data: workflow.store_evidence(
        case, request.user, data["file"], data["description"], request
    ),
)
inform_parent = _step(
    "parent_form",
    lambda case, request: forms.ParentContactForm(request.POST),
    lambda request, case, data: workflow.inform_parent(case, request.user, data, request),
)
add_note = _step(
    "note_form",
    lambda case, request: forms.NoteForm(request.POST),
    lambda request, case, data: workflow.add_note(case, request.user, data["text"], request),
)
close = _step(
    "close_form",
    lambda case, request: forms.CloseForm(request.POST),
    lambda request, case, data: workflow.close_case(case, request.user, data["outcome"], request),
)


@requires(Capability.MANAGE_CASES)
@require_GET
def evidence_file(request: HttpRequest, pk: int, evidence_pk: int) -> HttpResponse:
    evidence = get_object_or_404(Evidence, pk=evidence_pk, case_id=pk)
    try:
        data = workflow.read_evidence(evidence, request.user, request)
    except workflow.WorkflowError as exc:
        return HttpResponse(str(exc), status=409, content_type="text/plain")
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="{evidence.sha256}.bin"'
    response["X-Evidence-SHA256"] = evidence.sha256
    return response
