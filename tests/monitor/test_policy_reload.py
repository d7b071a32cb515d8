"""The live monitor follows a recompiled policy without a restart (issue 8, docs/monitoring.md).

The gateway's `SnapshotHolder` watches the snapshot file; the monitor subscribes to it
(`Monitor.follow`). Here the school's DSL changes: the recompiled policy names the new DSL's
address, and the next alert is mailed there — by a real SMTP server on 127.0.0.1, through the
journal, the store, the rules and the outbox — while an alert already open is not raised again.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.events.journal import JournalWriter
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.monitor.delivery import DeliverySettings
from schoolgate.monitor.mailsink import MailSink
from schoolgate.monitor.outbox import Outbox
from schoolgate.monitor.service import Monitor
from tests.gateway.policy_fixtures import write_lists

REPO = Path(__file__).resolve().parents[2]
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def _search(user: str, at: datetime) -> dict:
    return Event(
        at=at,
        source="proxy",
        address="10.0.2.7",
        user=user,
        group="pupil-ks2",
        target="http://www.google.com/search?q=qzxsecret",
        search="qzxsecret",
        action="allow",
        rule="search-self-harm",
        alert="critical",
        keywords=("qzxsecret",),
    ).to_record()


def _policy_with_dsl_email(email: str | None):
    policy = load_policy(REPO / "policies" / "st-thomas-more.yaml")
    contacts = [
        c.model_copy(update={"email": email}) if c.role == "dsl" else c for c in policy.contacts
    ]
    return policy.model_copy(update={"contacts": contacts})


def _wait(condition, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_recompiled_policy_reaches_the_live_monitor(tmp_path: Path) -> None:
    lists = write_lists(tmp_path / "lists")
    snapshot_path = tmp_path / "school.sgs"
    compile_snapshot(_policy_with_dsl_email("old-dsl@school.test"), [lists]).save(snapshot_path)
    holder = SnapshotHolder(snapshot_path, interval=0.05)
    sink = MailSink()
    host, port = sink.start()
    journal = JournalWriter(tmp_path / "journal")
    monitor = Monitor(
        policy=holder.decider.policy,
        journal=tmp_path / "journal",
        store=EventStore.open(tmp_path / "events.sqlite3"),
        outbox=Outbox(tmp_path / "outbox.sqlite3"),
        settings=DeliverySettings(smtp_host=host, smtp_port=port),
        clock=lambda: TUESDAY_10,
        poll=0.05,
    ).follow(holder)
    holder.start()
    monitor.start()

    def mailed_to(address: str) -> list:
        return [m for m, rcpts in zip(sink.messages, sink.recipients, strict=True)
                if address in rcpts]  # fmt: skip

    try:
        journal.append(_search("pupil-1", TUESDAY_10))
        journal.flush()
        assert _wait(lambda: mailed_to("old-dsl@school.test"))

        # The DSL changes: the policy is recompiled into the same file the gateway watches.
        compile_snapshot(_policy_with_dsl_email("new-dsl@school.test"), [lists]).save(snapshot_path)
        assert _wait(lambda: holder.reloads == 1 and monitor.policy_reloads == 1)
        journal.append(_search("pupil-1", TUESDAY_10 + timedelta(minutes=1)))  # still open
        journal.append(_search("pupil-2", TUESDAY_10 + timedelta(minutes=2)))
        journal.flush()
        assert _wait(lambda: mailed_to("new-dsl@school.test"))
        time.sleep(0.5)  # anything else the monitor would send has had its chance
        new = mailed_to("new-dsl@school.test")
        assert len(new) == 1 and "pupil-2" in new[0]["Subject"]
        old = mailed_to("old-dsl@school.test")
        assert len(old) == 1 and "pupil-1" in old[0]["Subject"]  # the open alert: counted only
        assert not monitor.errors
    finally:
        monitor.stop()
        holder.stop()
        journal.close()
        sink.stop()
        monitor.outbox.close()
        monitor.store.close()
