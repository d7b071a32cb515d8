"""Hot reload: a new snapshot file is picked up, a broken one never replaces the good one."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.engine.decide import Subject
from schoolgate.engine.policy.schema import Action
from schoolgate.gateway.reload import SnapshotHolder
from tests.gateway.policy_fixtures import LISTS, make_snapshot


def test_changed_snapshot_is_swapped_in_and_broken_one_ignored(tmp_path: Path) -> None:
    path = tmp_path / "school.sgs"
    make_snapshot(tmp_path).save(path)
    holder = SnapshotHolder(path, interval=0.05).start()
    seen: list[object] = []
    holder.on_reload(lambda snapshot, decider: seen.append(decider))
    try:
        pupil = Subject(group="pupils")
        assert (
            holder.decider.decide(pupil, "games.example", datetime.now(UTC)).action is Action.BLOCK
        )
        LISTS["games.txt"] = ("games", ["other-games.example"])
        make_snapshot(tmp_path / "v2").save(path)
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.02)
        assert seen and seen[-1] is holder.decider
        assert (
            holder.decider.decide(pupil, "games.example", datetime.now(UTC)).action is Action.ALLOW
        )
        good = holder.decider
        path.write_bytes(b"not a snapshot")
        assert holder.reload() is False
        assert holder.decider is good
        assert holder.last_error and str(path) in holder.last_error
    finally:
        LISTS["games.txt"] = ("games", ["games.example"])
        holder.stop()
