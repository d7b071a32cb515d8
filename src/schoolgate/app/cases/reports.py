"""The seeds' logs as CSV and printable pages, and the anonymised figures for governors."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.audit.trail import record
from schoolgate.app.cases.models import AppliedAction, Case
from schoolgate.app.cases.terms import Term, TermError, parse_term, term_of
from schoolgate.app.people.models import User
from schoolgate.app.policy import incidents_by_key
from schoolgate.app.roles import Capability
from schoolgate.app.spreadsheet import csv_download

# CAV-077: the eSafety Incident Log's columns.
INCIDENT_LOG_COLUMNS = [
    "Date & Time",
    "Name of pupil or staff member",
    "Male or Female",
    "Room and computer/device number",
    "Details of incident (including evidence)",
    "Actions and reasons",
]
# STM-285: the Reporting Log's columns.
REPORTING_LOG_COLUMNS = [
    "Group",
    "Date",
    "Time",
    "Incident",
    "Action Taken — What?",
    "Action Taken — By Whom?",
    "Incident Reported By",
    "Signature",
]


def _term(request: HttpRequest) -> Term:
    given = request.GET.get("term")
    return parse_term(given) if given else term_of(timezone.localdate())


def _cases(term: Term) -> QuerySet[Case]:
    start, end = term.bounds()
    return (
        Case.objects.filter(reported_at__gte=start, reported_at__lt=end, handled_as="")
        .select_related("reporter")
        .prefetch_related(
            Prefetch(
                "involved",
                queryset=User.objects.only(
                    "id",
                    "first_name",
                    "last_name",
                    "username",
                    "sex",
                    "role",
                    "policy_group",
                    "registration_group",
                ),
            ),
            Prefetch("actions", queryset=AppliedAction.objects.select_related("by")),
            "evidence",
        )
        .order_by("reported_at")
    )


def _name(user: User | None) -> str:
    return (user.get_full_name() or user.username) if user else "Schoolgate monitoring"


def _local(moment: datetime | None) -> datetime | None:
    return timezone.localtime(moment) if moment else None


def incident_log_rows(cases: QuerySet[Case]) -> list[list[str]]:
    rows = []
    for case in cases:
        when = _local(case.occurred_at or case.reported_at)
        people = list(case.involved.all())
        evidence = "; ".join(f"{e.filename} (sha256 {e.sha256[:12]}…)" for e in case.evidence.all())
        details = case.details + (f"\nURL: {case.url}" if case.url else "")
        details += f"\nEvidence: {evidence}" if evidence else ""
        actions = "; ".join(f"{a.title} — {a.reason}" for a in case.actions.all())
        rows.append(
            [
                f"{when:%d/%m/%Y %H:%M}",
                ", ".join(_name(p) for p in people) or case.involved_text,
                ", ".join(p.sex for p in people if p.sex),
                " / ".join(x for x in (case.room, case.device) if x),
                details,
                actions or case.outcome,
            ]
        )
    return rows


def reporting_log_rows(cases: QuerySet[Case]) -> list[list[str]]:
    rows = []
    incidents = incidents_by_key()
    for case in cases:
        when = _local(case.reported_at)
        people = list(case.involved.all())
        group = ", ".join(sorted({p.registration_group or p.policy_group for p in people} - {""}))
        choice = incidents.get(case.incident_type)
        incident = choice.incident.title if choice else case.summary
        actions = list(case.actions.all())
        rows.append(
            [
                group,
                f"{when:%d/%m/%Y}",
                f"{when:%H:%M}",
                f"{case.reference} {incident}",
                "; ".join(a.title for a in actions),
                ", ".join(sorted({_name(a.by) for a in actions})),
                _name(case.reporter),
                "",
            ]
        )
    return rows


def concern_log_rows(term: Term) -> list[list[str]]:
    """Issue 13: concerns in the reporting log under "Safeguarding concern: <category>", apart
    from the ICT incidents; their actions are referrals and tasks done, never sanctions."""
    from schoolgate.app.concerns.models import Concern
    from schoolgate.app.policy import concern_categories

    start, end = term.bounds()
    titles = {c.id: c.title for c, _ in concern_categories()}
    concerns = (
        Concern.objects.filter(reported_at__gte=start, reported_at__lt=end)
        .select_related("reported_by")
        .prefetch_related("pupils", "referrals__by", "tasks__done_by")
        .order_by("reported_at")
    )
    rows = []
    for concern in concerns:
        when = _local(concern.reported_at)
        pupils = list(concern.pupils.all())
        done = [(f"Referred to {r.service}", r.by) for r in concern.referrals.all()]
        done += [(t.title, t.done_by) for t in concern.tasks.all() if t.is_done]
        rows.append(
            [
                ", ".join(sorted({p.registration_group or p.policy_group for p in pupils} - {""})),
                f"{when:%d/%m/%Y}",
                f"{when:%H:%M}",
                f"{concern.reference} Safeguarding concern: "
                f"{titles.get(concern.category, concern.category)}",
                "; ".join(what for what, _ in done),
                ", ".join(sorted({_name(by) for _, by in done})),
                _name(concern.reported_by),
                "",
            ]
        )
    return rows


_LOGS = {
    "incident-log": ("eSafety incident log", INCIDENT_LOG_COLUMNS, incident_log_rows),
    "reporting-log": ("Reporting log", REPORTING_LOG_COLUMNS, reporting_log_rows),
}


def _log_view(kind: str, as_csv: bool):
    title, columns, build = _LOGS[kind]

    @requires(Capability.EXPORT_LOGS)
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        try:
            term = _term(request)
        except TermError as exc:
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        rows = build(_cases(term))
        if kind == "reporting-log":
            rows += concern_log_rows(term)
        record(
            request.user,
            f"export.{kind}",
            None,
            {"term": term.key, "format": "csv" if as_csv else "html", "rows": len(rows)},
            request=request,
        )
        if as_csv:
            return csv_download(f"{kind}-{term.key}.csv", columns, rows)
        return render(
            request,
            "app/log_print.html",
            {"title": title, "columns": columns, "rows": rows, "term": term, "kind": kind},
        )

    return view


incident_log = _log_view("incident-log", as_csv=False)
incident_log_csv = _log_view("incident-log", as_csv=True)
reporting_log = _log_view("reporting-log", as_csv=False)
reporting_log_csv = _log_view("reporting-log", as_csv=True)


def governor_figures(term: Term) -> dict[str, Any]:
    """Counts only: by incident type, month and year group. Nothing that names anyone.

    Exact counts; `reports.termly.governor_view` suppresses the small ones before anyone
    sees them.
    """
    start, end = term.bounds()
    rows = Case.objects.filter(
        reported_at__gte=start, reported_at__lt=end, handled_as=""
    ).values_list("incident_type", "reported_at", "year_group", "illegal", "status")
    by_type: Counter[str] = Counter()
    by_month: Counter[str] = Counter()
    by_year: Counter[str] = Counter()
    illegal = closed = 0
    incidents = incidents_by_key()
    for incident_type, reported_at, year_group, is_illegal, status in rows:
        choice = incidents.get(incident_type)
        by_type[_type_label(choice) if choice else "Not yet classified"] += 1
        by_month[f"{timezone.localtime(reported_at):%Y-%m}"] += 1
        by_year[f"Year {year_group}" if year_group else "Staff / not a pupil"] += 1
        illegal += is_illegal
        closed += status == "closed"
    return {
        "total": sum(by_type.values()),
        "illegal": illegal,
        "closed": closed,
        "by_type": sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0])),
        "by_month": [(_month(key), n) for key, n in sorted(by_month.items())],
        "by_year": sorted(by_year.items(), key=lambda kv: _year_order(kv[0])),
    }


def concern_figures(term: Term) -> dict[str, Any]:
    """Issue 13: safeguarding concerns counted under their own categories, never as ICT
    incidents. Counts only."""
    from schoolgate.app.concerns.models import Concern
    from schoolgate.app.policy import concern_categories

    start, end = term.bounds()
    titles = {c.id: c.title for c, _ in concern_categories()}
    by_category: Counter[str] = Counter(
        titles.get(category, category)
        for category in Concern.objects.filter(
            reported_at__gte=start, reported_at__lt=end
        ).values_list("category", flat=True)
    )
    return {
        "concerns": sum(by_category.values()),
        "concerns_by_category": sorted(by_category.items(), key=lambda kv: (-kv[1], kv[0])),
    }


def _type_label(choice) -> str:
    """ "Pupils: <incident>" — the matrix's own title is long and the same on every row."""
    return f"{'Pupils' if choice.applies_to == 'pupil' else 'Staff'}: {choice.incident.title}"


def _month(key: str) -> str:
    year, month = key.split("-")
    return f"{date(int(year), int(month), 1):%B %Y}"


def _year_order(label: str) -> tuple[int, str]:
    tail = label.removeprefix("Year ")
    return (int(tail), "") if tail.isdigit() else (100, label)
