"""The event store: one code path, SQLite and PostgreSQL (STM-008, STM-099, STM-105, STM-106)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore, host_of

from .pg import fresh_database

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> Iterator[EventStore]:
    if request.param == "sqlite":
        with EventStore.open(f"sqlite:///{tmp_path}/events.sqlite3") as opened:
            yield opened
        return
    with fresh_database() as url, EventStore.open(url) as opened:
        yield opened


def _event(minutes: float, **fields) -> Event:
    base = {"source": "proxy", "action": "allow", "address": "10.0.0.5", "user": "pupil-1"}
    return Event(at=T0 + timedelta(minutes=minutes), **(base | fields))


def test_events_round_trip_exactly(store) -> None:
    event = _event(
        3.5,
        group="pupil-ks2",
        target="https://www.google.com/search?q=homework",
        search="homework",
        categories=("search-engines", "education"),
        rule="r1",
        alert="low",
        notify=("dsl",),
        keywords=("homework",),
        reason="why",
        extra={"status": 200},
    )
    store.append([event])
    assert store.query(user="pupil-1") == [event]
    assert store.subject_access("pupil-1") == [event.to_record()]


def test_filters_order_and_paging(store) -> None:
    events = [_event(i, user=f"u{i % 3}", address=f"10.0.0.{i % 2}") for i in range(12)]
    store.append(events)
    newest = store.query(user="u0", limit=2)
    assert [e.at for e in newest] == [events[9].at, events[6].at]
    older = store.query(user="u0", before=newest[-1].at, limit=10)
    assert [e.at for e in older] == [events[3].at, events[0].at]
    assert store.count(address="10.0.0.1") == 6
    assert store.count(since=events[10].at) == 2


def test_dashboard_aggregates(store) -> None:
    store.append(
        [
            _event(5, action="block", target="https://bet365.com/x", categories=("gambling",)),
            _event(6, action="block", target="http://bet365.com:8080/", categories=("gambling",)),
            _event(70, action="block", target="vpn.example", categories=("vpn",), group="ks2"),
            _event(71, target="https://bbc.co.uk/", categories=("news",), group="ks2"),
        ]
    )
    hours = store.counts_by_hour(T0, T0 + timedelta(hours=3))
    assert [(h.hour, h.total, h.blocked) for h in hours] == [
        (T0, 2, 2),
        (T0 + timedelta(hours=1), 2, 1),
    ]
    assert store.top_blocked_hosts(T0, T0 + timedelta(days=1)) == [
        ("bet365.com", 2),
        ("vpn.example", 1),
    ]
    by_category = store.counts_by("category", T0, T0 + timedelta(days=1))
    assert by_category == [("gambling", 2), ("news", 1), ("vpn", 1)]
    assert store.counts_by("group_id", T0, T0 + timedelta(days=1)) == [("ks2", 2), (None, 2)]
    with pytest.raises(ValueError):
        store.counts_by("reason; DROP TABLE events", T0, T0)


def test_a_users_last_thirty_minutes(store) -> None:
    store.append([_event(m, search=f"s{m}") for m in (0, 10, 31, 40, 61)])
    recent = store.user_recent("pupil-1", T0 + timedelta(minutes=61))
    assert [e.search for e in recent] == ["s31", "s40", "s61"]


def test_purge_keeps_what_retention_allows(store) -> None:
    store.append([_event(m) for m in range(10)])
    assert store.purge(T0 + timedelta(minutes=4)) == 4
    assert store.count() == 6


def test_positions_commit_with_their_events(store) -> None:
    assert store.position("journal") is None
    store.append([_event(1)], position=("journal", "0000000001.jnl:42"))
    assert store.position("journal") == "0000000001.jnl:42"
    store.set_position("journal", "0000000002.jnl:0")
    assert store.position("journal") == "0000000002.jnl:0"


def test_host_of() -> None:
    assert host_of("https://a.example:443/x?y") == "a.example"
    assert host_of("a.example") == "a.example"
    assert host_of("http://[2001:db8::1]:80/") == "[2001:db8::1]"
    assert host_of(None) is None
