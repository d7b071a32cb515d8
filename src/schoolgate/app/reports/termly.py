"""The governors' termly report: filtering, alerts, incidents, concerns, training and agreements,
counted for one school term, anonymised (issue 12; STM-005, STM-016, STM-017, STM-018, CAV-062,
CAV-075).

`termly_figures` counts exactly, from the records: blocks by category and by group from the
event store's rollups (`schoolgate.events`, the dashboard's source: whole days in the middle of
the term, whole hours at its edges, so a term costs what a month does on the dashboard), alerts
raised in the term by theme and how long each took to be triaged (`alerts.Alert` and the DSL's
`concerns.AlertWork.decided_at`), incidents by type, month and year group and concerns by
category (`cases.reports`), and training and acceptable-use agreement completion as they stand
today (`agreements`). `governor_view` is the only thing governors see and the only thing a
sign-off freezes: every count passes the small-count suppression of `cases.disclosure`, so a
count of 1 to 4 never shows, nor follows from a total.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

from schoolgate.app.agreements.status import group_of, statuses
from schoolgate.app.agreements.training import untrained_staff
from schoolgate.app.alerts.models import Alert
from schoolgate.app.cases.disclosure import SMALL, shown, suppress
from schoolgate.app.cases.reports import concern_figures, governor_figures
from schoolgate.app.cases.terms import Term
from schoolgate.app.concerns.triage import theme_title
from schoolgate.app.console import events as console_events
from schoolgate.app.people.models import User
from schoolgate.app.roles import Role
from schoolgate.engine.policy.schema import Policy
from schoolgate.engine.taxonomy import CATEGORIES
from schoolgate.events.store import DAY_US, HOUR_US, from_micros, to_micros

# How long an alert waited for the DSL's triage, in the words the governors' table uses.
HANDLING_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("Within an hour", timedelta(hours=1)),
    ("Within a day", timedelta(days=1)),
    ("Within a week", timedelta(days=7)),
    ("Longer than a week", None),
)
NOT_HANDLED = "Not yet triaged"

# Tables in the order the report shows them: key, heading, drawn in red.
TABLES: tuple[tuple[str, str, bool], ...] = (
    ("blocks_by_category", "Blocked by category", True),
    ("blocks_by_group", "Blocked by group", True),
    ("alerts_by_theme", "Alerts by theme", False),
    ("alert_handling", "How fast alerts were triaged", False),
    ("by_type", "Incidents by type", False),
    ("by_month", "Incidents by month", False),
    ("by_year", "Incidents by year group", False),
    ("concerns_by_category", "Safeguarding concerns by category", False),
)
REQUESTS = frozenset({"blocks_by_category", "blocks_by_group"})
"""Tables that count web requests, not people or incidents (see `cases.disclosure.suppress`)."""
TOTALS = {
    "decisions": "Web requests filtered",
    "blocked": "Blocked",
    "alerts": "Monitoring alerts",
    "total": "Incidents reported",
    "illegal": "Incidents involving suspected illegal content",
    "closed": "Incidents closed",
    "concerns": "Safeguarding concerns",
}


def termly_figures(term: Term, policy: Policy, today: date) -> dict[str, Any]:
    """Exact counts for `term`. Never shown to governors as they are: see `governor_view`."""
    return (
        _filtering(term, policy)
        | _alerts(term)
        | governor_figures(term)
        | concern_figures(term)
        | {"training": training_completion(policy, today)}
        | {"agreements": agreement_completion(policy)}
    )


# Filtering ---------------------------------------------------------------------------------


def _store_exists() -> bool:
    """An SQLite store the gateway never wrote is not created here just to read nothing."""
    url = str(settings.SCHOOLGATE_EVENTS)
    if url.startswith(("postgresql://", "postgres://")):
        return True
    path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else url
    path = path.removeprefix("sqlite://")
    return path == ":memory:" or Path(path).exists()


def spans(start: datetime, end: datetime) -> list[tuple[datetime, datetime, int]]:
    """`start`..`end` (whole hours) as rollup reads: hours up to the first UTC midnight, whole
    days to the last one, hours after it."""
    first = -(-to_micros(start) // DAY_US) * DAY_US
    last = to_micros(end) // DAY_US * DAY_US
    if first >= last:
        return [(start, end, HOUR_US)]
    parts = [(from_micros(first), from_micros(last), DAY_US)]
    if to_micros(start) < first:
        parts.insert(0, (start, from_micros(first), HOUR_US))
    if last < to_micros(end):
        parts.append((from_micros(last), end, HOUR_US))
    return parts


def _filtering(term: Term, policy: Policy) -> dict[str, Any]:
    empty = {"decisions": 0, "blocked": 0, "blocks_by_category": [], "blocks_by_group": []}
    if not _store_exists():
        return empty | {"store": False}
    store = console_events.store()
    decisions: Counter[str] = Counter()
    by_category: Counter[str | None] = Counter()
    by_group: Counter[str | None] = Counter()
    start, end = term.bounds()
    for since, before, grain in spans(start, end):
        decisions.update(store.actions_between(since, before, grain=grain))
        for dim, counter in (("category", by_category), ("group_id", by_group)):
            for value, n in store.rollup_counts(
                dim, since, before, action="block", limit=10**9, grain=grain
            ):
                counter[value] += n
    groups = {g.id: g.title for g in policy.groups}
    return {
        "store": True,
        "decisions": sum(decisions.values()),
        "blocked": decisions.get("block", 0),
        "blocks_by_category": _ranked((_category_title(c), n) for c, n in by_category.items()),
        "blocks_by_group": _ranked(
            (groups.get(g, g) if g else "Not identified", n) for g, n in by_group.items()
        ),
    }


def _category_title(category: str | None) -> str:
    if not category:
        return "A site list or search words"
    found = CATEGORIES.get(category)
    return found.title if found else category


def _ranked(rows) -> list[tuple[str, int]]:
    merged: Counter[str] = Counter()
    for label, n in rows:
        merged[label] += n
    return sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))


# Alerts ------------------------------------------------------------------------------------


def _alerts(term: Term) -> dict[str, Any]:
    start, end = term.bounds()
    rows = Alert.objects.filter(first__gte=start, first__lt=end).values_list(
        "theme", "first", "work__decided_at"
    )
    by_theme: Counter[str] = Counter()
    bands: Counter[str] = Counter()
    waits: list[float] = []
    for theme, first, decided in rows:
        by_theme[theme_title(theme)] += 1
        if decided is None:
            bands[NOT_HANDLED] += 1
            continue
        wait = max(decided - first, timedelta())
        waits.append(wait.total_seconds())
        bands[_band(wait)] += 1
    order = [label for label, _ in HANDLING_BANDS] + [NOT_HANDLED]
    return {
        "alerts": sum(by_theme.values()),
        "alerts_by_theme": _ranked(by_theme.items()),
        "alert_handling": [(label, bands[label]) for label in order if bands[label]],
        "median_wait_seconds": statistics.median(waits) if waits else None,
        "handled": len(waits),
    }


def _band(wait: timedelta) -> str:
    for label, limit in HANDLING_BANDS:
        if limit is None or wait <= limit:
            return label
    raise AssertionError(wait)


# Training and agreements -------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    title: str
    done: int
    outstanding: int


def training_completion(policy: Policy, today: date) -> list[Completion]:
    """Per course: the people it applies to who are up to date, and those with it overdue."""
    people = list(User.objects.filter(is_active=True).exclude(role__in=[Role.PUPIL, Role.PARENT]))
    overdue = Counter(gap.course.id for gap in untrained_staff(policy, today))
    rows = []
    for course in policy.training:
        applies = sum(
            1 for p in people if "all" in course.groups or group_of(p, policy) in course.groups
        )
        if applies:
            late = overdue[course.id]
            rows.append(Completion(course.title, applies - late, late))
    return rows


def agreement_completion(policy: Policy) -> list[Completion]:
    """Per agreement (those signed once a year or term, not at each logon): complete or not."""
    users = list(User.objects.filter(is_active=True).exclude(role=Role.PARENT))
    done: Counter[str] = Counter()
    waiting: Counter[str] = Counter()
    for row in statuses(users, policy, timezone.now()):
        if not row.each_logon:
            (done if row.complete else waiting)[row.agreement.title] += 1
    return [Completion(t, done[t], waiting[t]) for t in sorted(set(done) | set(waiting))]


# What governors see ------------------------------------------------------------------------


def governor_view(figures: dict[str, Any]) -> dict[str, Any]:
    """The figures as governors see them and as a sign-off freezes them: strings only, every
    count of 1-4 banded (cases.disclosure), no names anywhere."""
    median = figures.get("median_wait_seconds")
    return {
        "totals": {key: shown(figures[key]) for key in TOTALS},
        "tables": {
            key: [list(row) for row in suppress(figures[key], secondary=key not in REQUESTS)]
            for key, _, _ in TABLES
        },
        "median_wait": _duration(median)
        if median is not None and figures["handled"] >= SMALL
        else "",
        "training": _completion_rows(figures["training"]),
        "agreements": _completion_rows(figures["agreements"]),
        "store": figures.get("store", True),
    }


def _completion_rows(rows: list[Completion]) -> list[list[str]]:
    """Title, complete, outstanding and the share complete (only when neither count is small)."""
    out = []
    for row in rows:
        (_, done), (_, late) = suppress([("done", row.done), ("late", row.outstanding)])
        total = row.done + row.outstanding
        exact = str(row.done) == done and str(row.outstanding) == late
        share = f"{100 * row.done // total}%" if total and exact else ""
        out.append([row.title, done, late, share])
    return out


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(seconds / 3600)
    if hours < 48:
        return f"{hours} hours"
    return f"{round(seconds / 86400)} days"


def fingerprint(view: dict[str, Any]) -> str:
    """SHA-256 of the view's canonical JSON: what a sign-off's record is checked against."""
    text = json.dumps(view, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def lines(view: dict[str, Any]) -> dict[str, str]:
    """Every figure of a view as "where: what" lines, to say what changed after a sign-off."""
    out = {TOTALS.get(key, key): value for key, value in view["totals"].items()}
    titles = {key: title for key, title, _ in TABLES}
    for key, rows in view["tables"].items():
        for label, value in rows:
            out[f"{titles.get(key, key)}: {label}"] = value
    for kind in ("training", "agreements"):
        for title, done, late, _ in view[kind]:
            out[f"{kind.title()}: {title}"] = f"{done} done, {late} outstanding"
    if view.get("median_wait"):
        out["Alerts: median time to triage"] = view["median_wait"]
    return out
