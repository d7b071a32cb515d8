"""The `schoolgate` command line, run as other tools run it: a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.sample_policy import SAMPLE_POLICY


def schoolgate(*args: str, stdin: str | None = None, cache: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "schoolgate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={"SCHOOLGATE_CACHE": str(cache), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture()
def school(tmp_path: Path) -> dict[str, Path]:
    policy = tmp_path / "sample.yaml"
    policy.write_text(SAMPLE_POLICY, encoding="utf-8")
    lists = tmp_path / "lists"
    for category, domains in {
        "gambling": "bet365.com\nwilliamhill.com\n",
        "games": "minecraft.net\n",
        "redirector": "hidemyass.com\n",
    }.items():
        (lists / category).mkdir(parents=True)
        (lists / category / "domains").write_text(domains, encoding="utf-8")
    (lists / "proxy").write_text("redirector\n", encoding="utf-8")
    return {"policy": policy, "lists": lists, "cache": tmp_path / "cache"}


def test_validate_reports_a_valid_policy(school: dict[str, Path]) -> None:
    done = schoolgate("policy", "validate", str(school["policy"]), cache=school["cache"])
    assert done.returncode == 0, done.stderr
    assert "valid policy for Sample Primary School" in done.stdout


def test_validate_reports_every_problem_and_fails(school: dict[str, Path]) -> None:
    broken = SAMPLE_POLICY.replace("categories: [gambling]", "categories: [gamblin]").replace(
        "    action: warn\n", "    action: forbid\n"
    )
    school["policy"].write_text(broken, encoding="utf-8")
    done = schoolgate("policy", "validate", str(school["policy"]), cache=school["cache"])
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert any(f"{school['policy']}:" in line and "gamblin" in line for line in lines)
    assert any("rules[4].action" in line for line in lines)
    assert "nothing loaded" in lines[-1]


def test_render_writes_markdown_and_html(school: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "rendered"
    done = schoolgate(
        "policy", "render", str(school["policy"]), "--output-dir", str(out), cache=school["cache"]
    )
    assert done.returncode == 0, done.stderr
    assert "Gambling sites are blocked" in (out / "sample-primary.md").read_text()
    assert "<table>" in (out / "sample-primary.html").read_text()


def test_render_prints_the_dates_it_is_given(school: dict[str, Path], tmp_path: Path) -> None:
    """Issue 12: the approval and review dates come from the records, flags over the file."""
    records = tmp_path / "records.yaml"
    records.write_text(
        "approved: 2026-03-12\napproved_by: J Smith, Principal\nnext_review: 2027-03-12\n"
        "history:\n  - {date: 2025-03-10, what: Annual review signed off}\n",
        encoding="utf-8",
    )
    args = ["policy", "render", str(school["policy"]), "--records", str(records)]
    done = schoolgate(*args, "--next-review", "2027-02-01", cache=school["cache"])
    assert done.returncode == 0, done.stderr
    assert "**Approved:** 12 March 2026, signed off by J Smith, Principal" in done.stdout
    assert "**Next review:** 1 February 2027" in done.stdout
    assert "- 10 March 2025: Annual review signed off" in done.stdout
    records.write_text("approved: last spring\n", encoding="utf-8")
    done = schoolgate(*args, cache=school["cache"])
    assert done.returncode == 1 and "approved must be a date" in done.stderr


def test_check_prints_the_decision(school: dict[str, Path]) -> None:
    args = ["--policy", str(school["policy"]), "--lists", str(school["lists"])]
    done = schoolgate(
        "check", *args, "--group", "juniors", "--at", "2026-11-24T10:30", "--json",
        "https://www.williamhill.com/", cache=school["cache"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    decision = json.loads(done.stdout)
    assert decision["action"] == "block" and decision["rule"] == "juniors-gambling"
    text = schoolgate("check", *args, "--group", "juniors", "hidemyass.com", cache=school["cache"])
    assert text.stdout.startswith("BLOCK  hidemyass.com/")
    assert "alert:      low (notify network-manager)" in text.stdout


def test_check_no_agreement_and_nominated_flags(school: dict[str, Path]) -> None:
    args = ["--policy", str(school["policy"]), "--lists", str(school["lists"]), "--json"]
    at = ["--group", "staff", "--at", "2026-11-24T10:30"]
    unsigned = schoolgate("check", *args, *at, "--no-agreement", "bbc.co.uk", cache=school["cache"])
    assert json.loads(unsigned.stdout)["rule"] == "agreement-required"
    games = schoolgate("check", *args, *at, "minecraft.net", cache=school["cache"])
    assert json.loads(games.stdout)["action"] == "warn"


def test_batch_answers_every_line_in_order_and_survives_bad_lines(school: dict[str, Path]) -> None:
    lines = [
        {"group": "juniors", "at": "2026-11-24T10:30", "target": "bet365.com"},
        "this is not json",
        {"group": "nobody", "target": "bet365.com"},
        {"group": "juniors", "target": ""},
        {"group": "staff", "at": "yesterday", "target": "bbc.co.uk"},
        {"group": "staff", "at": "2026-11-24T10:30", "target": "bbc.co.uk", "agreement": False},
        {"group": "juniors", "at": "2026-11-24T10:30", "target": "http://[::1"},
        [1, 2],
        {"group": "juniors", "at": "2026-11-24T10:30", "target": "www.bbc.co.uk/news"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    done = schoolgate(
        "check", "--policy", str(school["policy"]), "--lists", str(school["lists"]), "--batch",
        stdin=stdin, cache=school["cache"],
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == len(lines)
    assert out[0]["action"] == "block" and out[0]["rule"] == "juniors-gambling"
    assert all("error" in out[i] for i in (1, 2, 3, 4, 6, 7))
    assert out[2]["line"] == 3 and "unknown group" in out[2]["error"]
    assert out[5]["rule"] == "agreement-required"
    assert out[8]["action"] == "allow"
    assert {"action", "categories", "rule", "reason", "alert", "notify"} <= out[8].keys()


def test_check_reuses_a_cached_snapshot_and_notices_list_changes(school: dict[str, Path]) -> None:
    args = ["--policy", str(school["policy"]), "--lists", str(school["lists"]), "--json"]
    first = schoolgate(
        "check", *args, "--group", "juniors", "paddypower.com", cache=school["cache"]
    )
    assert json.loads(first.stdout)["action"] == "allow"
    assert len(list(school["cache"].glob("*.snapshot"))) == 1
    with (school["lists"] / "gambling" / "domains").open("a") as domains:
        domains.write("paddypower.com\n")
    second = schoolgate(
        "check", *args, "--group", "juniors", "paddypower.com", cache=school["cache"]
    )
    assert json.loads(second.stdout)["action"] == "block"


def test_check_refuses_a_broken_policy(school: dict[str, Path]) -> None:
    school["policy"].write_text("school: [", encoding="utf-8")
    done = schoolgate(
        "check", "--policy", str(school["policy"]), "--group", "juniors", "x.com",
        cache=school["cache"],
    )  # fmt: skip
    assert done.returncode == 1
    assert "not valid YAML" in done.stderr


def test_check_names_a_bad_octal_address_instead_of_crashing(school) -> None:
    """Issue 9 (7): `08.0.0.5` crashed `check` with a traceback."""
    result = schoolgate(
        "check", "--policy", str(school["policy"]), "--lists", str(school["lists"]),
        "--group", "juniors", "http://08.0.0.5/", cache=school["cache"],
    )  # fmt: skip
    assert result.returncode == 2
    assert "not a valid IPv4 address" in result.stderr
    assert "Traceback" not in result.stderr
