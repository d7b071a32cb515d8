"""Who held an address when: the gateway journals every change of holder, and the monitor
attributes a third-party log line by it (issue 8: user attribution over time; STM-032)."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.journal_events import binding_recorder
from schoolgate.monitor.attribution import AddressHistory


def journalled(directory: Path) -> list[Event]:
    return [Event.from_record(record) for record in read_events(directory)]


def test_every_change_of_holder_is_journalled(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal", flush_interval=0.01)
    bindings = tmp_path / "bindings.json"
    bindings.write_text(json.dumps({"10.0.0.5": {"user": "amelia", "group": "pupil-ks2"}}))
    identity = Identity(bindings_file=bindings, on_change=binding_recorder(journal))
    identity.bind("10.0.0.6", "ben", "pupil-ks2")  # the bindings endpoint's way
    # A RADIUS hook rewrites the file: 10.0.0.5 passes to Chloe, a range is added.
    data = json.loads(bindings.read_text())
    data["10.0.0.5"] = {"user": "chloe", "group": "pupil-ks2"}
    data["10.0.1.0/24"] = {"group": "staff"}
    bindings.write_text(json.dumps(data))
    os.utime(bindings, ns=(1, 1))  # a new file state even within the same clock tick
    identity._reload_file(force=False)
    identity.bind("10.0.0.6", None)  # Ben logs off
    journal.close()
    events = [e for e in journalled(tmp_path / "journal") if e.kind == "binding"]
    assert [(e.source, e.address, e.user, e.group) for e in events] == [
        ("gateway", "10.0.0.6", "ben", "pupil-ks2"),
        ("gateway", "10.0.0.5", "chloe", "pupil-ks2"),
        ("gateway", "10.0.0.6", None, None),
    ]


def test_a_log_line_is_attributed_to_whoever_held_the_address_then(tmp_path: Path) -> None:
    journal = JournalWriter(tmp_path / "journal", flush_interval=0.01)
    identity = Identity(bindings_file=tmp_path / "b.json", on_change=binding_recorder(journal))
    identity.bind("10.0.0.5", "amelia", "pupil-ks2")
    identity.bind("10.0.0.5", "chloe", "pupil-ks2")
    journal.close()
    history = AddressHistory()
    first, second = [e for e in journalled(tmp_path / "journal") if history.learn(e)]
    between = first.at + (second.at - first.at) / 2
    after = second.at + timedelta(minutes=5)
    squid_line = Event(at=between, source="squid-log", address="10.0.0.5", target="x.example")
    assert history.attribute(squid_line).user == "amelia"
    assert history.attribute(replace(squid_line, at=after)).user == "chloe"
