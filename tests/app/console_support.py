"""The console's test set-up: the app's test policy with filtering rules, compiled into a real
snapshot; a gateway state folder, bindings file and event store under the test's tmp_path."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schoolgate.app.console import events as console_events
from schoolgate.app.console import gateway_state
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore

HERE = Path(__file__).resolve().parent

FILTER_RULES = """
filtering: {default_action: allow, default_group: ks3-pupils}
rules:
  - id: gambling
    groups: [all]
    categories: [gambling]
    action: block
    alert: low
    source:
      section: User Actions table – Unacceptable
      quote: "On-line gambling"
  - id: staff-games
    groups: [staff]
    categories: [games]
    action: warn
    source: {section: Staff agreement, quote: "Games only in your own time"}
  - id: pupil-games
    groups: [ks3-pupils]
    categories: [games]
    action: block
    source: {section: Pupil agreement, quote: "I will not play games in school"}
"""


@dataclass
class ConsoleFiles:
    root: Path
    policy: Path
    snapshot: Path
    state: Path
    bindings: Path
    events_url: str


def console_files(tmp_path: Path) -> ConsoleFiles:
    root = tmp_path / "console"
    root.mkdir()
    policy = root / "policy.yaml"
    base = (HERE / "policy.yaml").read_text()
    for kind in ("pupil", "staff"):  # signing agreements is not what these tests are about
        base = base.replace(
            f"    kind: {kind}\n", f"    kind: {kind}\n    agreement_required: false\n", 1
        )
    policy.write_text(base + FILTER_RULES)
    snapshot = compile_snapshot(load_policy(policy), [])
    snapshot.index.add_domain("bet.test", "gambling")
    snapshot.index.add_domain("games.test", "games")
    snapshot.save(root / "snapshot.sgs")
    state = root / "gateway"
    state.mkdir()
    return ConsoleFiles(
        root,
        policy,
        root / "snapshot.sgs",
        state,
        state / "bindings.json",
        f"sqlite:///{root / 'events.sqlite3'}",
    )


def configure(settings, files: ConsoleFiles) -> None:
    settings.SCHOOLGATE_POLICY = files.policy
    settings.SCHOOLGATE_SNAPSHOT = files.snapshot
    settings.SCHOOLGATE_GATEWAY_STATE = files.state
    settings.SCHOOLGATE_BINDINGS_FILE = files.bindings
    settings.SCHOOLGATE_EVENTS = files.events_url
    console_events.reset()
    gateway_state._cache.clear()


def some_events(now: datetime | None = None) -> list[Event]:
    """A pupil's blocked search and site visits, a staff member's allowed ones, over two hours."""
    now = now or datetime.now(UTC)
    base = now - timedelta(minutes=90)
    rows = [
        Event(
            at=base,
            source="proxy",
            address="10.0.0.7",
            user="pupil-1",
            group="ks3-pupils",
            target="https://www.google.com/search?q=poker+games",
            search="poker games",
            action="block",
            categories=("gambling",),
            rule="gambling",
            alert="low",
        ),
        Event(
            at=base + timedelta(minutes=1),
            source="dns",
            address="10.0.0.7",
            user="pupil-1",
            group="ks3-pupils",
            target="bet.test",
            action="block",
            categories=("gambling",),
            rule="gambling",
        ),
        Event(
            at=base + timedelta(minutes=30),
            source="dns",
            address="10.0.0.9",
            user="teacher-1",
            group="staff",
            target="www.bbc.co.uk",
            action="allow",
            rule="default",
        ),
        Event(
            at=base + timedelta(minutes=60),
            source="proxy",
            address="10.0.0.9",
            user="teacher-1",
            group="staff",
            target="http://games.test/",
            action="warn",
            categories=("games",),
            rule="staff-games",
        ),
    ]
    return rows


def fill_store(files: ConsoleFiles, rows: list[Event]) -> None:
    with EventStore.open(files.events_url) as store:
        store.append(rows)
