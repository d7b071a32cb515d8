"""Reporting a concern, the case list and the case page with its steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit.trail import record
from schoolgate.app.audit.words import timeline
from schoolgate.app.cases import forms, workflow
from schoolgate.app.cases.models import Case, Evidence, Review, Source, Status
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
    ids, given = _filter_cases(ids, request)
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
    record(request.user, "case.list", None, {**given, "page": page.number}, request=request)
    return render(
        request,
        "app/case_list.html",
        {
            "page": page,
            "cases": cases,
            "statuses": Status.choices,
            "sources": Source.choices,
            "given": given,
            "query": urlencode({k: v for k, v in given.items() if v}),
            "sees_all": sees_all,
        },
    )


def _filter_cases(ids: Any, request: HttpRequest) -> tuple[Any, dict[str, str]]:
    """Search (reference, summary, pupil name or form group) and filters on the case list."""
    given = {k: request.GET.get(k, "").strip()[:100] for k in ("q", "status", "source", "illegal")}
    if given["status"] in Status.values:
        ids = ids.filter(status=given["status"])
    if given["source"] in Source.values:
        ids = ids.filter(source=given["source"])
    if given["illegal"] == "yes":
        ids = ids.filter(illegal=True)
    if query := given["q"]:
        number = query.upper().removeprefix("C-").lstrip("0")
        match = Q(summary__icontains=query) | Q(involved__last_name__istartswith=query)
        match |= Q(involved__first_name__istartswith=query)
        match |= Q(involved__registration_group__iexact=query)
        if number.isdigit():
            match |= Q(pk=int(number))
        ids = ids.filter(match).distinct()
    return ids, given


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
    return render(request, "app/case_detail.html", _detail_context(case, request.user))


def _review_hint(reviews: list[Any]) -> str:
    if any(r.is_confirmed for r in reviews):
        return "done, confirmed by the second reviewer"
    if reviews:
        return f"waiting for {reviews[-1].second_reviewer} to confirm"
    return "needed before closing"


def _detail_context(case: Case, viewer: Any, **forms_given: Any) -> dict[str, Any]:
    choice = find_incident(case.incident_type) if case.incident_type else None
    suggested = workflow.suggested_action_ids(case)
    involved = list(case.involved.prefetch_related("parents"))
    applied = list(case.actions.select_related("by"))
    reviews = list(case.reviews.select_related("first_reviewer", "second_reviewer"))
    problems = workflow.closing_problems(case, applied=applied, reviews=reviews)
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
        "concern_form": forms.ToConcernForm(),
    }
    return {
        "case": case,
        "incident": choice,
        "involved": involved,
        "applied": applied,
        "reviews": reviews,
        "evidence": list(case.evidence.prefetch_related("custody__actor")),
        "parent_contacts": list(case.parent_contacts.select_related("informed_by")),
        "timeline": timeline("case", case.pk),
        "illegal_instructions": workflow.ILLEGAL_INSTRUCTIONS,
        "closing_problems": problems,
        "review_hint": _review_hint(reviews),
        "actions_hint": f"{len(applied)} applied" if applied else "suggested by the policy",
        "can_see_chronology": allows(viewer.role, Capability.MANAGE_CONCERNS),
        "open_step": _open_step(case, applied, reviews, problems, forms_given),
        **defaults,
        **forms_given,
    }


def _open_step(
    case: Case, applied: list[Any], reviews: list[Any], problems: list[str], given: dict[str, Any]
) -> str:
    """The one step shown open: the form with errors, else the next thing the case needs."""
    if given:
        return next(iter(given)).removesuffix("_form")
    if case.is_closed:
        return ""
    if not case.incident_type:
        return "triage"
    if not case.illegal and not reviews:
        return "review"
    if not applied:
        return "actions"
    return "close" if not problems else ""


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
            request,
            "app/case_detail.html",
            _detail_context(case, request.user, **{form_name: form}),
            status=400,
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


@requires(Capability.CONFIRM_REVIEW)
@require_http_methods(["GET", "POST"])
def confirm_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The named second reviewer reads the review and confirms it, signed in as themselves."""
    review = get_object_or_404(
        Review.objects.select_related("case", "first_reviewer", "second_reviewer"), pk=pk
    )
    if request.method == "POST":
        try:
            workflow.confirm_review(review, request.user, request)
        except workflow.WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"You confirmed the review of {review.case.reference}.")
        return redirect("review-confirm", review.pk)
    if review.second_reviewer_id != request.user.pk:
        record(request.user, "case.review-confirm-refused", review.case, {"review": pk}, request)
        raise PermissionDenied("only the named second reviewer can open this review")
    record(request.user, "case.review-view", review.case, {"review": pk}, request=request)
    return render(request, "app/review_confirm.html", {"review": review, "case": review.case})


@requires(Capability.MANAGE_CONCERNS)
@require_POST
def to_concern(request: HttpRequest, pk: int) -> HttpResponse:
    """DSL and deputies move a case that is really a safeguarding concern into one."""
    from schoolgate.app.concerns.workflow import ConcernError, from_case

    case = get_object_or_404(Case, pk=pk)
    form = forms.ToConcernForm(request.POST)
    if form.is_valid():
        try:
            concern = from_case(
                case,
                request.user,
                form.cleaned_data["category"],
                form.cleaned_data["reason"],
                request,
            )
        except (ConcernError, workflow.WorkflowError) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"{case.reference} is now concern {concern.reference}.")
            return redirect("concern-detail", concern.pk)
    context = _detail_context(case, request.user, concern_form=form)
    return render(request, "app/case_detail.html", context, status=400)
