"""The store's category index for the query log (issue 13): `event_category` holds one row per
(event, category), written with the events in one transaction, so "category X, newest first"
walks an index instead of reading every event's category list. Checked against filtering the events
themselves, on SQLite and PostgreSQL, alone and with the other filters, across pages, after an
upgrade and a purge; and the day rollups (sums of the hour rollups) against counting events
over several days.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schoolgate.events.schema import Event
from schoolgate.events.store import DAY_US, EventStore, to_micros

from .pg import fresh_database

T0 = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
CATEGORIES = ["gambling", "games", "chat", "news"]


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        with EventStore.open(f"sqlite:///{tmp_path}/events.sqlite3") as opened:
            yield opened
        return
    with fresh_database() as url, EventStore.open(url) as opened:
        yield opened


def _events(count: int, seed: int = 11, hours: float = 60) -> list[Event]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        categories = tuple(rng.sample(CATEGORIES, rng.choice([0, 1, 1, 2])))
        out.append(
            Event(
                at=T0 + timedelta(minutes=rng.uniform(0, hours * 60)),
                source="dns",
                kind=rng.choice(["decision"] * 9 + ["warn-pass"]),
                address=f"10.0.0.{rng.randint(1, 4)}",
                user=rng.choice(["u1", "u2", None]),
                group=rng.choice(["pupils", "staff", None]),
                target=f"site{rng.randint(1, 9)}.test",
                action=rng.choice(["allow", "allow", "block", "warn"]),
                categories=categories,
            )
        )
    return out


def _newest_first(events: list[Event]) -> list[Event]:
    # The store orders ties by insertion (id); a stable sort on time keeps that order reversed.
    return sorted(reversed(events), key=lambda e: e.at, reverse=True)


def test_category_filter_equals_filtering_the_events(store) -> None:
    events = _events(400)
    for start in range(0, 400, 100):
        store.append(events[start : start + 100])
    middle = T0 + timedelta(hours=30)
    for category in [*CATEGORIES, "none-such"]:
        matching = _newest_first([e for e in events if category in e.categories])
        assert store.query(category=category, limit=1000) == matching
        assert store.count(category=category) == len(matching)
        # with the other filters: the category index drives, or the person's / device's does
        for filters in ({"action": "block"}, {"user": "u1"}, {"address": "10.0.0.2"},
                        {"host": "site3.test"}, {"since": middle}, {"before": middle},
                        {"user": "u2", "action": "allow", "before": middle}):  # fmt: skip
            expected = [e for e in matching if _matches(e, filters)]
            assert store.query(category=category, **filters, limit=1000) == expected, filters
            assert store.count(category=category, **filters) == len(expected)
        oldest = store.query(category=category, oldest_first=True, limit=1000)
        assert [e.at for e in oldest] == sorted(e.at for e in matching)


def _matches(event: Event, filters: dict) -> bool:
    checks = {
        "action": lambda v: event.action == v,
        "user": lambda v: event.user == v,
        "address": lambda v: event.address == v,
        "host": lambda v: event.target == v,
        "since": lambda v: event.at >= v,
        "before": lambda v: event.at < v,
    }
    return all(checks[name](value) for name, value in filters.items())


def test_category_pages_newest_first_with_a_cursor(store) -> None:
    events = _events(300, seed=5)
    store.append(events)
    expected = _newest_first([e for e in events if "games" in e.categories])
    pages, before = [], None
    while True:
        page = store.query(category="games", before=before, limit=7)
        if not page:
            break
        pages += page
        before = page[-1].at
    assert pages == expected


def test_purge_removes_category_rows_with_their_events(store) -> None:
    events = _events(300, seed=3)
    store.append(events)
    cut = T0 + timedelta(hours=20)
    store.purge(cut)
    gone = store._rows("SELECT COUNT(*) FROM event_category WHERE at_us < ?", (to_micros(cut),))
    assert gone[0][0] == 0
    left = store._rows("SELECT COUNT(*) FROM event_category")[0][0]
    assert left == sum(len(set(e.categories)) for e in events if e.at >= cut)
    assert store.query(category="chat", limit=1000) == _newest_first(
        [e for e in events if e.at >= cut and "chat" in e.categories]
    )


def test_a_store_written_before_the_category_index_gets_it_on_opening(store) -> None:
    events = _events(200, seed=9)
    store.append(events)
    expected = store.query(category="news", limit=1000)
    assert len(expected) == sum("news" in e.categories for e in events) > 0
    for statement in ("DROP TABLE event_category", "DELETE FROM positions"):
        store._connection.execute(statement)
    with EventStore.open(store.where) as reopened:
        assert reopened.query(category="news", limit=1000) == expected
        later = Event(at=T0 + timedelta(days=5), source="dns", categories=("news", "news"))
        reopened.append([later])
        assert reopened.query(category="news", limit=1)[0] == later  # kept on append again
        assert reopened.count(category="news") == len(expected) + 1


def test_day_rollups_are_the_sums_of_hours_and_equal_counting_events(store) -> None:
    """Events over four UTC days: every day cell of every dimension equals counting the events
    of that day, kept incrementally and after a rebuild."""
    events = _events(500, seed=2, hours=60)
    store.append(events)
    cells = (
        "SELECT dim, grain_us, start_us, value, action, n FROM event_rollup ORDER BY 1, 2, 3, 4, 5"
    )
    incremental = store._rows(cells)
    store.rebuild_rollups()
    assert store._rows(cells) == incremental
    decisions = [e for e in events if e.kind == "decision"]
    days = sorted({e.at.replace(hour=0, minute=0, second=0, microsecond=0) for e in decisions})
    assert len(days) == 4  # 22:00 on the 23rd to 10:00 on the 26th
    for day in days:
        that_day = [e for e in decisions if day <= e.at < day + timedelta(days=1)]
        totals = store.hourly_totals(day, day + timedelta(days=1), grain=DAY_US)
        assert [(t.total, t.blocked) for t in totals] == [
            (len(that_day), sum(e.action == "block" for e in that_day))
        ]
        blocked = [e for e in that_day if e.action == "block"]
        by_address: dict[str, int] = {}
        for e in blocked:
            by_address[e.address] = by_address.get(e.address, 0) + 1
        got = store.rollup_counts("address", day, day + timedelta(days=1), action="block",
                                  grain=DAY_US)  # fmt: skip
        assert dict(got) == by_address
        by_category: dict[str | None, int] = {}
        for e in that_day:
            first = e.categories[0] if e.categories else None
            by_category[first] = by_category.get(first, 0) + 1
        got = store.rollup_counts("category", day, day + timedelta(days=1), grain=DAY_US)
        assert dict(got) == by_category


def test_each_filter_walks_its_own_index_without_statistics(tmp_path) -> None:
    """A SQLite store nobody ran ANALYZE on: a pupil's blocks walk (user, at), not every block
    in the store through (action, at); a category with an action walks the category's index."""
    store = EventStore.open(f"sqlite:///{tmp_path}/events.sqlite3")
    plans: list[str] = []
    run = store._rows

    def explained(sql: str, params=()):
        found = store._connection.execute("EXPLAIN QUERY PLAN " + sql, tuple(params)).fetchall()
        plans.append(" / ".join(row[-1] for row in found))
        return run(sql, params)

    store._rows = explained  # type: ignore[method-assign]
    expected = {
        (("user", "u1"), ("action", "block")): "USING INDEX events_user_at",
        (("address", "10.0.0.1"), ("action", "block")): "USING INDEX events_address_at",
        (("host", "site1.test"), ("action", "warn")): "USING INDEX events_host_at",
        (("action", "block"),): "USING INDEX events_action_at",
        (("category", "games"), ("action", "block")): "SEARCH c USING PRIMARY KEY",
        (("user", "u1"), ("category", "games")): "USING INDEX events_user_at",
        (("since", T0),): "USING INDEX events_at",
    }
    for filters, index in expected.items():
        plans.clear()
        store.query(**dict(filters), limit=51)
        assert plans[0].startswith(f"SEARCH {'c' if 'c USING' in index else 'events'}"), plans
        assert index in plans[0].split(" / ")[0], (filters, plans[0])
    store.close()
