"""Pages for DfE filtering and monitoring standards 1 and 2: the roles register, the annual
reviews (list, record and sign off, detail), the evidence pack (printable and CSV) and the
printed policy with the reviews' dates (issue 12). Every view is audited (STM-004, STM-006,
STM-016)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from schoolgate.app.access import requires
from schoolgate.app.audit import trail
from schoolgate.app.policy import current_policy
from schoolgate.app.reviews import selftest
from schoolgate.app.reviews.evidence import CSV_COLUMNS, csv_rows, evidence_pack
from schoolgate.app.reviews.models import Review, SelfTestRun
from schoolgate.app.reviews.printed import print_records
from schoolgate.app.reviews.register import roles_register
from schoolgate.app.reviews.workflow import CHECKLIST, CHECKLIST_LABELS, record_review, review_due
from schoolgate.app.roles import Capability, allows
from schoolgate.app.spreadsheet import csv_download
from schoolgate.engine.policy.render import render_html


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
            "selftest": selftest.latest_run(),
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


@requires(Capability.VIEW_REVIEWS)
def selftest_page(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The latest filtering self-test (or run `pk`) in full, and every earlier run."""
    run = get_object_or_404(SelfTestRun, pk=pk) if pk else selftest.latest_run()
    trail.record(request.user, "review.selftest-viewed", run, {}, request)
    context = {
        "run": run,
        "runs": SelfTestRun.objects.select_related("ran_by")[:50],
        "may_run": allows(request.user.role, Capability.RUN_SELFTEST),
        "dns": settings.SCHOOLGATE_GATEWAY_DNS,
        "proxy": settings.SCHOOLGATE_GATEWAY_PROXY,
    }
    if run is not None:
        report = selftest.report_of(run)
        groups, rows = selftest.matrix(report)
        context |= {
            "report": report,
            "groups": groups,
            "matrix": rows,
            "by_group": selftest.rows_by_group(report),
        }
    return render(request, "app/reviews/selftest.html", context)


@requires(Capability.RUN_SELFTEST)
def selftest_run(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        run = selftest.run_selftest(request.user, request)
    except selftest.SelfTestError as exc:
        messages.error(request, f"The self-test could not start: {exc}")
        return redirect("selftest")
    if run.passed:
        messages.success(request, f"Self-test passed: {run.probes} probes, all as the policy says.")
    else:
        messages.error(request, f"Self-test found {run.mismatches} mismatches: see below.")
    return redirect("selftest-run-detail", run.pk)


@requires(Capability.VIEW_REVIEWS)
def printed_policy(request: HttpRequest) -> HttpResponse:
    """The whole policy as an A4 document to print or save as PDF, dated from the reviews."""
    policy = current_policy()
    records = print_records(policy, timezone.localdate())
    trail.record(request.user, "review.printed-policy", None, {}, request)
    page = render_html(policy, records, back=(reverse("review-list"), "Back to the reviews"))
    return HttpResponse(page, content_type="text/html; charset=utf-8")
