"""The one event format: round trip, UTC times, and a clear error for each bad field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from schoolgate.events.schema import Event, EventError, format_time, parse_time

AT = datetime(2026, 11, 24, 10, 32, 7, 123456, tzinfo=UTC)


def test_round_trip_keeps_every_field() -> None:
    event = Event(
        at=AT,
        source="proxy",
        address="10.0.0.5",
        user="amelia",
        group="pupil-ks2",
        target="https://www.google.com/search?q=x",
        search="x",
        action="block",
        categories=("self-harm",),
        rule="keywords:self-harm",
        alert="high",
        notify=("dsl",),
        keywords=("self-harm",),
        reason="why",
        extra={"status": 403},
    )
    assert Event.from_record(event.to_record()) == event


def test_times_are_utc_with_z() -> None:
    london_winter = datetime(2026, 11, 24, 10, 32, tzinfo=timezone(timedelta(hours=1)))
    assert format_time(london_winter) == "2026-11-24T09:32:00.000000Z"
    assert parse_time("2026-11-24T10:32:00+01:00") == datetime(2026, 11, 24, 9, 32, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"v": 0}, "'v'"),
        ({"at": "yesterday"}, "'at'"),
        ({"at": "2026-11-24T10:00:00"}, "'at'"),
        ({"source": "carrier-pigeon"}, "'source'"),
        ({"action": "maybe"}, "'action'"),
        ({"alert": "urgent"}, "'alert'"),
        ({"categories": "adult"}, "'categories'"),
        ({"user": 7}, "'user'"),
        ({"extra": []}, "'extra'"),
    ],
)
def test_bad_fields_are_named(change: dict, field: str) -> None:
    record = Event(at=AT, source="dns").to_record() | change
    with pytest.raises(EventError, match=field):
        Event.from_record(record)


def test_naive_time_is_refused_when_writing() -> None:
    with pytest.raises(EventError):
        format_time(datetime(2026, 1, 1))
