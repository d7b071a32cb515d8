"""The monitor deletes events older than the policy's retention (STM-099, STM-100, STM-106)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from schoolgate.engine.policy.loader import load_policy
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore
from schoolgate.monitor.outbox import Outbox
from schoolgate.monitor.service import Monitor

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def test_events_past_retention_are_purged(tmp_path) -> None:
    policy = load_policy(REPO / "policies" / "st-thomas-more.yaml")
    days = policy.monitoring.retention_days
    store = EventStore.open(tmp_path / "events.sqlite3")
    store.append(
        [
            Event(at=NOW - timedelta(days=days, hours=1), source="dns", user="old"),
            Event(at=NOW - timedelta(days=days - 1), source="dns", user="kept"),
        ]
    )
    monitor = Monitor(
        policy=policy,
        journal=tmp_path / "journal",
        store=store,
        outbox=Outbox(tmp_path / "outbox.sqlite3"),
        clock=lambda: NOW,
    )
    monitor._purge_if_due()
    assert [e.user for e in store.query()] == ["kept"]
    assert store.subject_access("old") == []
