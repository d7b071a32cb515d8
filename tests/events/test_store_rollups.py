"""The store's hourly rollups for the console's dashboard (issue 13): kept with the events,
equal to counting the events themselves, rebuilt after a bulk load, trimmed by purge. SQLite
and PostgreSQL (STM-106: purged events leave the rollups too, by the hour)."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schoolgate.events.schema import Event
from schoolgate.events.store import DAY_US, EventStore

from .pg import fresh_database

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        with EventStore.open(f"sqlite:///{tmp_path}/events.sqlite3") as opened:
            yield opened
        return
    with fresh_database() as url, EventStore.open(url) as opened:
        yield opened


def _events(count: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        action = rng.choice(["allow", "allow", "allow", "block", "warn"])
        category = rng.choice(["gambling", "games", "news", None])
        rows.append(
            Event(
                at=T0 + timedelta(minutes=rng.uniform(0, 300)),
                source=rng.choice(["dns", "proxy"]),
                kind=rng.choice(["decision"] * 9 + ["warn-pass"]),
                address=f"10.0.0.{rng.randint(1, 6)}",
                group=rng.choice(["pupils", "staff", None]),
                target=f"http://site{rng.randint(1, 8)}.test/x",
                action=action,
                categories=(category,) if category else (),
            )
        )
    return rows


def test_rollups_equal_counting_the_events(store) -> None:
    events = _events(600)
    for start in range(0, 600, 150):
        store.append(events[start : start + 150])
    since, before = T0 + timedelta(hours=1), T0 + timedelta(hours=4)
    decisions = [e for e in events if e.kind == "decision" and since <= e.at < before]
    hours = store.hourly_totals(since, before)
    assert sum(h.total for h in hours) == len(decisions)
    assert sum(h.blocked for h in hours) == sum(e.action == "block" for e in decisions)
    assert store.actions_between(since, before)["warn"] == sum(
        e.action == "warn" for e in decisions
    )
    blocked = [e for e in decisions if e.action == "block"]
    by_host: dict[str, int] = {}
    for e in blocked:
        host = e.target.split("/")[2]
        by_host[host] = by_host.get(host, 0) + 1
    assert dict(store.rollup_counts("host", since, before, action="block", limit=50)) == by_host
    by_group: dict[str | None, int] = {}
    for e in decisions:
        by_group[e.group] = by_group.get(e.group, 0) + 1
    assert dict(store.rollup_counts("group_id", since, before)) == by_group
    days = store.hourly_totals(
        T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1), grain=DAY_US
    )
    assert [d.total for d in days] == [sum(e.kind == "decision" for e in events)]
    with pytest.raises(ValueError, match="no rollup by 'user_name'"):
        store.rollup_counts("user_name", since, before)


def test_rebuild_gives_the_same_rollups(store) -> None:
    store.append(_events(300))
    cells = (
        "SELECT dim, grain_us, start_us, value, action, n FROM event_rollup ORDER BY 1, 2, 3, 4, 5"
    )
    incremental = store._rows(cells)
    store.rebuild_rollups()
    assert store._rows(cells) == incremental


def test_purge_drops_whole_hours_from_the_rollups(store) -> None:
    store.append(_events(300))
    store.purge(T0 + timedelta(hours=2))
    assert store.hourly_totals(T0, T0 + timedelta(hours=2)) == []
    later = store.hourly_totals(T0 + timedelta(hours=2), T0 + timedelta(hours=6))
    assert sum(h.total for h in later) == store.count(kind="decision")


def test_a_store_written_before_the_rollups_gets_them_on_opening(tmp_path) -> None:
    path = tmp_path / "old.sqlite3"
    with EventStore.open(path) as store:
        store.append(_events(100))
        expected = store.hourly_totals(T0, T0 + timedelta(hours=6))
    old = sqlite3.connect(path)
    old.execute("DROP TABLE event_rollup")
    old.commit()
    old.close()
    with EventStore.open(path) as reopened:
        assert reopened.hourly_totals(T0, T0 + timedelta(hours=6)) == expected
