"""The console's reads from the event store (`schoolgate.events.store.EventStore`).

One store per process, opened from `SCHOOLGATE_EVENTS` on first use (the store serialises its
own connection). The dashboard reads only the store's hourly rollups (whole hours, so a
dashboard over ten million events sums thousands of rows, not millions); the query log pages
with a cursor
(`before` = the oldest time on the page) so a deep page costs what the first one does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Count, Sum

from schoolgate.events.schema import Event
from schoolgate.events.store import DAY_US, HOUR_US, EventStore, from_micros, to_micros

_lock = threading.Lock()
_stores: dict[str, EventStore] = {}


def store() -> EventStore:
    url = str(settings.SCHOOLGATE_EVENTS)
    with _lock:
        if url not in _stores:
            _stores[url] = EventStore.open(url)
        return _stores[url]


def reset() -> None:
    """Forget open stores (tests that point SCHOOLGATE_EVENTS somewhere new)."""
    with _lock:
        for opened in _stores.values():
            opened.close()
        _stores.clear()


@dataclass
class HourBucket:
    hour: datetime
    total: int
    blocked: int


@dataclass
class Summary:
    buckets: list[HourBucket]
    total: int = 0
    blocked: int = 0
    warned: int = 0
    top_blocked_hosts: list[tuple[str, int]] = field(default_factory=list)
    blocked_categories: list[tuple[str | None, int]] = field(default_factory=list)
    groups: list[tuple[str | None, int]] = field(default_factory=list)
    devices: list[tuple[str | None, int]] = field(default_factory=list)
    alert_themes: list[tuple[str, int]] = field(default_factory=list)

    @property
    def blocked_share(self) -> float:
        return 100.0 * self.blocked / self.total if self.total else 0.0


def dashboard_summary(since: datetime, before: datetime, *, daily: bool = False) -> Summary:
    """Hour buckets for `since`..`before`; with `daily`, whole UTC days from the day `since`
    falls in (the store's day rollups), so a month costs what a day does."""
    events = store()
    grain = DAY_US if daily else HOUR_US
    if daily:
        since = from_micros(to_micros(since) // DAY_US * DAY_US)
    found_by_start = {h.hour: h for h in events.hourly_totals(since, before, grain=grain)}
    buckets = []
    moment = since
    while moment < before:
        found = found_by_start.get(moment)
        buckets.append(
            HourBucket(moment, found.total if found else 0, found.blocked if found else 0)
        )
        moment += timedelta(microseconds=grain)
    actions = events.actions_between(since, before, grain=grain)
    return Summary(
        buckets=buckets,
        total=sum(b.total for b in buckets),
        blocked=actions.get("block", 0),
        warned=actions.get("warn", 0),
        top_blocked_hosts=ranked(events, "host", since, before, "block", grain),
        blocked_categories=ranked(events, "category", since, before, "block", grain),
        groups=ranked(events, "group_id", since, before, None, grain),
        devices=ranked(events, "address", since, before, "block", grain),
        alert_themes=_alert_themes(since),
    )


CLOSED_SECONDS = 600.0
_closed: dict[tuple, tuple[float, dict[str | None, int], list[tuple[str | None, int]]]] = {}


def ranked(
    events: EventStore,
    dim: str,
    since: datetime,
    before: datetime,
    action: str | None,
    grain: int,
    limit: int = 10,
) -> list[tuple[str | None, int]]:
    """The top `limit` values of a rollup dimension over `since`..`before`. Everything before
    the current hour is closed: counted once and kept for ten minutes (it no longer changes,
    except for logs ingested late) — for days, the closed days from the day rollups plus today's
    closed hours from the hour rollups. Each request reads only the current hour's rollup rows,
    so every range costs what one hour does. Exact: a value outside the closed part's top
    `limit` that was not seen this hour cannot overtake them."""
    hour = from_micros(to_micros(datetime.now(UTC)) // HOUR_US * HOUR_US)
    if not since < hour < before:
        return events.rollup_counts(dim, since, before, action=action, limit=limit, grain=grain)
    counts, top = _closed_part(events, dim, action, grain, since, hour, limit)
    recent = events.rollup_counts(dim, hour, before, action=action, limit=10**9, grain=HOUR_US)
    merged = {value: counts.get(value, 0) for value, _ in top}
    for value, n in recent:
        merged[value] = counts.get(value, 0) + n
    return sorted(merged.items(), key=_rank)[:limit]


def _closed_part(
    events: EventStore,
    dim: str,
    action: str | None,
    grain: int,
    since: datetime,
    until: datetime,
    limit: int,
) -> tuple[dict[str | None, int], list[tuple[str | None, int]]]:
    """All counts over `since`..`until` (closed), and the top `limit`, kept ten minutes."""

    def count(start: datetime, end: datetime, step: int) -> dict[str | None, int]:
        if start >= end:
            return {}
        return dict(events.rollup_counts(dim, start, end, action=action, limit=10**9,
                                         grain=step))  # fmt: skip

    def whole() -> dict[str | None, int]:
        if grain != DAY_US:
            return count(since, until, HOUR_US)
        day = from_micros(to_micros(until) // DAY_US * DAY_US)
        days = _kept((events.where, dim, action, DAY_US, since, day),
                     lambda: count(since, day, DAY_US))[0]  # fmt: skip
        total = dict(days)
        for value, n in count(max(since, day), until, HOUR_US).items():
            total[value] = total.get(value, 0) + n
        return total

    return _kept((events.where, dim, action, grain, since, until, limit), whole, limit)


def _kept(
    key: tuple, compute: Callable[[], dict[str | None, int]], limit: int = 10
) -> tuple[dict[str | None, int], list[tuple[str | None, int]]]:
    now = time.monotonic()
    cached = _closed.get(key)
    if cached is None or cached[0] < now:
        for stale in [k for k, v in _closed.items() if v[0] < now]:
            del _closed[stale]
        counts = compute()
        _closed[key] = cached = (
            now + CLOSED_SECONDS,
            counts,
            sorted(counts.items(), key=_rank)[:limit],
        )
    return cached[1], cached[2]


def _rank(item: tuple[str | None, int]) -> tuple[int, str]:
    return (-item[1], item[0] or "")


def _alert_themes(since: datetime) -> list[tuple[str, int]]:
    """Alerts raised since `since`, counted by theme (no names): from the alerts app if present."""
    if not apps.is_installed("schoolgate.app.alerts"):
        return []
    alert = apps.get_model("alerts", "Alert")
    rows = (
        alert.objects.filter(last__gte=since)
        .values("theme")
        .annotate(n=Sum("count"), alerts=Count("id"))
        .order_by("-n", "theme")
    )
    return [(r["theme"], int(r["n"] or r["alerts"])) for r in rows]


def search(filters: dict[str, Any], limit: int) -> list[Event]:
    return store().query(**filters, limit=limit)


def cursor_of(event: Event) -> int:
    return to_micros(event.at)


def from_cursor(value: int) -> datetime:
    return from_micros(value).astimezone(UTC)
