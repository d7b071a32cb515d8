"""Pages for DfE filtering and monitoring standards 1 and 2: the roles register, the annual
reviews (list, record and sign off, detail) and the evidence pack (printable and CSV). Every view
is audited (STM-004, STM-006, STM-016)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from schoolgate.app.access import requires
from schoolgate.app.audit import trail
from schoolgate.app.policy import current_policy
from schoolgate.app.reviews.evidence import CSV_COLUMNS, csv_rows, evidence_pack
from schoolgate.app.reviews.models import Review
from schoolgate.app.reviews.register import roles_register
from schoolgate.app.reviews.workflow import CHECKLIST, CHECKLIST_LABELS, record_review, review_due
from schoolgate.app.roles import Capability, allows
from schoolgate.app.spreadsheet import csv_download


@requires(Capability.VIEW_REVIEWS)
def roles(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    register = roles_register(policy)
    trail.record(request.user, "review.roles-register-viewed", None, {}, request)
    return render(
        request,
        "app/reviews/roles.html",
        {"register": register, "school": policy.school.name, "printed": timezone.localtime()},
    )


@requires(Capability.VIEW_REVIEWS)
def review_list(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    due = review_due(current_policy(), today)
    trail.record(request.user, "review.list-viewed", None, {}, request)
    return render(
        request,
        "app/reviews/list.html",
        {
            "reviews": Review.objects.select_related("signed_off_by"),
            "due": due,
            "overdue": due.overdue(today),
            "days_left": due.days_left(today),
            "may_sign": allows(request.user.role, Capability.SIGN_OFF_REVIEW),
        },
    )


@requires(Capability.SIGN_OFF_REVIEW)
def new_review(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    error = ""
    if request.method == "POST":
        try:
            review = record_review(
                request.user,
                policy,
                request.POST.getlist("checked"),
                request.POST.get("outcome", "")[:5000],
                request.POST.get("actions", "")[:5000],
                request.POST.get("position", "")[:150],
                request,
            )
        except ValueError as exc:
            error = str(exc)
        else:
            messages.success(request, "Review signed off and recorded.")
            return redirect("review-detail", review.pk)
    due = review_due(policy, timezone.localdate())
    return render(
        request,
        "app/reviews/new.html",
        {
            "checklist": CHECKLIST,
            "checked": request.POST.getlist("checked"),
            "due": due,
            "error": error,
            "post": request.POST,
        },
        status=400 if error else 200,
    )


@requires(Capability.VIEW_REVIEWS)
def review_detail(request: HttpRequest, pk: int) -> HttpResponse:
    review = get_object_or_404(Review, pk=pk)
    trail.record(request.user, "review.viewed", review, {}, request)
    items = [(CHECKLIST_LABELS.get(k, k), done) for k, done in review.checklist.items()]
    return render(request, "app/reviews/detail.html", {"review": review, "items": items})


@requires(Capability.VIEW_REVIEWS)
def evidence(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    today = timezone.localdate()
    items = evidence_pack(policy, today)
    as_csv = request.GET.get("format") == "csv"
    trail.record(
        request.user, "review.evidence-pack", None, {"csv": as_csv, "items": len(items)}, request
    )
    if as_csv:
        return csv_download("dfe-filtering-evidence.csv", CSV_COLUMNS, csv_rows(items))
    return render(
        request,
        "app/reviews/evidence.html",
        {
            "items": items,
            "gap_count": sum(1 for i in items if i.gaps),
            "school": policy.school.name,
            "printed": timezone.localtime(),
        },
    )
