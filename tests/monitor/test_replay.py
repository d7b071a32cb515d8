"""`schoolgate monitor replay`: logs through the same decisions and alert rules (issue 8).

The CLI contract: one JSON alert per line on stdout, a per-file summary on stderr; lines are
attributed to whoever held the address then (STM-032); repeats are one alert with a count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schoolgate.events.schema import Event
from schoolgate.monitor.attribution import AddressHistory

REPO = Path(__file__).resolve().parents[2]
POLICY = REPO / "policies" / "st-thomas-more.yaml"
UT1 = REPO.parent / "shared" / "data" / "ut1"
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday, in staffed hours
SEARCH = "http://www.google.com/search?q=how+to+kill+myself"


def _binding(at: datetime, address: str, user: str | None, group: str | None = None) -> str:
    return json.dumps(
        Event(
            at=at, source="pages", kind="binding", address=address, user=user, group=group
        ).to_record()
    )


def _squid(at: datetime, address: str, url: str) -> str:
    return (
        f"{at.timestamp():.3f}     12 {address} TCP_MISS/200 512 GET {url} - HIER_DIRECT/1.2.3.4 -"
    )


def _replay(tmp_path: Path, *logs: str) -> tuple[list[dict], str]:
    result = subprocess.run(
        [sys.executable, "-m", "schoolgate", "monitor", "replay", "--policy", str(POLICY),
         "--lists", str(UT1), *[a for log in logs for a in ("--log", log)]],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={"SCHOOLGATE_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], result.stderr


@pytest.mark.slow
def test_replay_attributes_deduplicates_and_counts(tmp_path) -> None:
    bindings = tmp_path / "bindings.jsonl"
    bindings.write_text(
        "\n".join(
            [
                _binding(T0 - timedelta(hours=1), "10.0.2.7", "pupil-a", "pupil-ks2"),
                _binding(T0 + timedelta(minutes=30), "10.0.2.7", None),
                _binding(T0 + timedelta(minutes=31), "10.0.2.7", "pupil-b", "pupil-ks2"),
            ]
        )
        + "\n"
    )
    access = tmp_path / "access.log"
    lines = [_squid(T0 + timedelta(seconds=20 * i), "10.0.2.7", SEARCH) for i in range(10)]
    lines.insert(4, "not a squid line")
    lines.append(_squid(T0 + timedelta(minutes=40), "10.0.2.7", SEARCH))  # the next pupil
    lines.append(_squid(T0 + timedelta(minutes=41), "10.0.2.7", "https://www.bbc.co.uk/"))
    access.write_text("\n".join(lines) + "\n")
    alerts, summary = _replay(tmp_path, f"json:{bindings}", f"squid:{access}")
    by_user = {a["user"]: a for a in alerts}
    assert sorted(by_user) == ["pupil-a", "pupil-b"]
    first = by_user["pupil-a"]
    for key in ("user", "address", "theme", "alert", "count", "first", "last", "notify", "events"):
        assert key in first
    assert (first["theme"], first["alert"], first["count"]) == ("self-harm", "critical", 10)
    assert first["address"] == "10.0.2.7" and "dsl" in first["notify"]
    assert first["first"] == "2026-11-24T10:00:00.000000Z"
    assert first["last"] == "2026-11-24T10:03:00.000000Z"
    assert len(first["events"]) == 10 and len(first["context"]) == 10
    assert by_user["pupil-b"]["count"] == 1
    assert f"{access} (squid): 13 lines, 12 parsed, 0 ignored, 1 bad" in summary
    assert f"{access}:5: expected at least 7 fields" in summary
    assert f"{bindings} (json): 3 lines, 3 parsed" in summary


@pytest.mark.slow
def test_replay_out_of_hours_and_other_rules(tmp_path) -> None:
    saturday_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
    common = tmp_path / "common.log"
    stamp = saturday_22.strftime("%d/%b/%Y:%H:%M:%S +0000")
    vpn = [
        f'10.0.3.{i} - - [{stamp}] "CONNECT www.hidemyass.com:443 HTTP/1.1" 200 0' for i in range(2)
    ]
    common.write_text(
        f'10.0.3.9 - pupil-9 [{stamp}] "GET {SEARCH} HTTP/1.1" 200 100\n' + "\n".join(vpn) + "\n"
    )
    bindings = tmp_path / "bindings.jsonl"
    bindings.write_text(
        "\n".join(
            _binding(saturday_22 - timedelta(hours=1), f"10.0.3.{i}", f"pupil-{i}", "pupil-ks2")
            for i in (0, 1, 9)
        )
    )
    alerts, _ = _replay(tmp_path, f"squid-common:{common}", f"json:{bindings}")
    self_harm = next(a for a in alerts if a["theme"] == "self-harm")
    assert self_harm["out_of_hours"] and self_harm["notify"] == ["dsl", "principal"]
    themes = {a["theme"] for a in alerts}
    assert "circumvention" in themes


def test_bad_log_arguments_are_refused(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "schoolgate", "monitor", "replay", "--policy", str(POLICY),
         "--log", "apache:/nonexistent"],
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 2 and "FORMAT one of squid" in result.stderr


def test_address_history_over_time() -> None:
    history = AddressHistory()
    history.record("10.0.0.1", T0, "a", "g1")
    history.record("10.0.0.1", T0 + timedelta(minutes=10), None, None)
    history.record("10.0.0.1", T0 + timedelta(minutes=20), "b", "g2")
    assert history.holder("10.0.0.1", T0 - timedelta(seconds=1)) is None
    assert history.holder("10.0.0.1", T0).user == "a"
    assert history.holder("10.0.0.1", T0 + timedelta(minutes=15)) is None
    assert history.holder("10.0.0.1", T0 + timedelta(minutes=25)).group == "g2"
    assert history.holder("10.0.0.2", T0) is None
    named = Event(at=T0, source="squid-log", address="10.0.0.1", user="squid-user")
    assert history.attribute(named).user == "squid-user"
