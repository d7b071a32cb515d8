"""The governors' termly report and its sign-off, and the UKSIC self-check export.

Access (roles.py): the report is read by governors and the safeguarding leads
(`report.governor`); only a governor signs it off, in their own session
(`report.governor-sign-off`, CAV-075, CAV-S12); the self-check is read by whoever reads the
DfE evidence pack (`review.view`). Every view and the sign-off are audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import resolve, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from schoolgate.app.access import requires
from schoolgate.app.audit.trail import record
from schoolgate.app.cases.disclosure import FEWER
from schoolgate.app.cases.terms import Term, TermError, parse_term, term_of
from schoolgate.app.console.charts import Bar, ranked_chart
from schoolgate.app.policy import current_policy
from schoolgate.app.reports import uksic
from schoolgate.app.reports.models import SignOffError, TermReportSignOff
from schoolgate.app.reports.termly import TABLES, governor_view, termly_figures
from schoolgate.app.roles import Capability, allows
from schoolgate.app.spreadsheet import csv_download

_NEXT = {"autumn": (1, "spring"), "spring": (0, "summer"), "summer": (0, "autumn")}
_PREVIOUS = {"spring": (-1, "autumn"), "summer": (0, "spring"), "autumn": (0, "summer")}


def _step(term: Term, table: dict[str, tuple[int, str]]) -> Term:
    years, name = table[term.name]
    return Term(term.year + years, name)


def _term(given: str | None) -> Term:
    return parse_term(given) if given else term_of(timezone.localdate())


def _view(term: Term) -> dict[str, Any]:
    return governor_view(termly_figures(term, current_policy(), timezone.localdate()))


@requires(Capability.GOVERNOR_REPORT)
@require_GET
def termly_report(request: HttpRequest) -> HttpResponse:
    try:
        term = _term(request.GET.get("term"))
    except TermError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    view = _view(term)
    record(request.user, "report.governor", None, {"term": term.key}, request=request)
    sign_offs = [(s, s.changes(view)) for s in TermReportSignOff.objects.filter(term=term.key)]
    start, end = term.bounds()
    now = timezone.now()
    return render(
        request,
        "app/reports/termly.html",
        {
            "term": term,
            "previous": _step(term, _PREVIOUS),
            "next": _step(term, _NEXT) if end <= now else None,
            "running": start <= now < end,
            "started": start <= now,
            "first_day": timezone.localtime(start).date(),
            "last_day": (timezone.localtime(end) - timedelta(days=1)).date(),
            "figures": view,
            "charts": _charts(view),
            "fewer": FEWER,
            "sign_offs": sign_offs,
            "may_sign": allows(request.user.role, Capability.SIGN_GOVERNOR_REPORT),
            "signed_by_me": any(s.signed_by_id == request.user.pk for s, _ in sign_offs),
            "school": current_policy().school.name,
            "printed": timezone.localtime(),
        },
    )


def _charts(view: dict[str, Any]) -> dict[str, Any]:
    return {
        key: ranked_chart([Bar(label, shown, red) for label, shown in view["tables"][key]],
                          title=title)
        for key, title, red in TABLES
        if view["tables"][key]
    }  # fmt: skip


@requires(Capability.SIGN_GOVERNOR_REPORT)
@require_POST
def sign_off(request: HttpRequest) -> HttpResponse:
    try:
        term = parse_term(request.POST.get("term", ""))
    except TermError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    if request.POST.get("read") != "yes":
        messages.error(request, "Not signed: tick “I have read this report” first.")
        return redirect(f"{reverse('governor-report')}?term={term.key}#sign-off")
    try:
        TermReportSignOff.sign(
            term, request.user, request.POST.get("position", ""), _view(term), request
        )
    except SignOffError as exc:
        messages.error(request, f"Not signed: {exc}.")
    else:
        messages.success(request, f"You signed off the {term.title} report.")
    return redirect(f"{reverse('governor-report')}?term={term.key}#sign-off")


def _may_open(role: str, url: str) -> bool:
    capability = getattr(resolve(url).func, "capability", None)
    return capability is None or allows(role, capability)


@requires(Capability.VIEW_REVIEWS)
@require_GET
def self_check(request: HttpRequest) -> HttpResponse:
    policy = current_policy()
    items = uksic.self_check(policy)
    as_csv = request.GET.get("format") == "csv"
    record(request.user, "review.uksic-self-check", None, {"csv": as_csv}, request=request)
    if as_csv:
        return csv_download("uksic-self-check.csv", uksic.CSV_COLUMNS, uksic.csv_rows(items))
    for item in items:
        for evidence in item.evidence:
            evidence.can_open = not evidence.url or _may_open(request.user.role, evidence.url)
    statuses = (uksic.MET, uksic.PARTLY, uksic.GAP)
    counts = {s: sum(1 for i in items if i.status == s) for s in statuses}
    return render(
        request,
        "app/reports/uksic.html",
        {
            "items": items,
            "counts": counts,
            "school": policy.school.name,
            "printed": timezone.localtime(),
        },
    )
