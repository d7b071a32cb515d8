"""Approved filter changes compile with the policy (issue 12; STM-314, STM-315, STM-320)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.engine.policy.schema import Action
from tests.engine.sample_policy import SAMPLE_POLICY, sample_index

LESSON = datetime(2026, 12, 3, 10, 30)
AFTERNOON = datetime(2026, 12, 3, 15, 30)

CHANGES = """schema_version: 1
changes:
  - id: 7
    action: allow
    groups: [juniors]
    sites: [bet365.com]
    reason: Maths lesson on odds and probability
    proposed_by: A Teacher (ateacher)
    approved_by: B Head (bhead)
    approved_at: 2026-12-03T09:00
  - id: 8
    action: allow
    groups: [juniors]
    sites: ["*"]
    users: [amelia]
    until: 2026-12-03T12:00
    reason: Filter switched off for a supervised research task
    proposed_by: N Manager (nmanager)
    approved_by: B Head (bhead)
    approved_at: 2026-12-03T09:30
"""


@pytest.fixture
def policy_file(tmp_path: Path) -> Path:
    path = tmp_path / "sample.yaml"
    path.write_text(SAMPLE_POLICY, encoding="utf-8")
    return path


def decider_for(path: Path) -> Decider:
    return Decider(SimpleNamespace(policy=load_policy(path), index=sample_index()))


def test_changes_file_sits_beside_the_policy(policy_file: Path) -> None:
    assert changes_path(policy_file).name == "sample.changes.yaml"


def test_an_approved_allow_opens_the_site_for_that_group_only(policy_file: Path) -> None:
    """STM-315: the change was approved by a second person and is recorded with both names."""
    before = decider_for(policy_file)
    assert before.decide(Subject(group="juniors"), "https://bet365.com/", LESSON).action is (
        Action.BLOCK
    )
    changes_path(policy_file).write_text(CHANGES, encoding="utf-8")
    after = decider_for(policy_file)
    allowed = after.decide(Subject(group="juniors"), "https://www.bet365.com/", LESSON)
    assert (allowed.action, allowed.rule) == (Action.ALLOW, "change-7")
    assert "approved by B Head (bhead)" in allowed.reason
    assert after.decide(Subject(group="staff"), "https://bet365.com/", LESSON).rule != "change-7"
    assert [c.id for c in after.policy.approved_changes] == [8, 7]  # newest first


def test_a_switch_off_is_for_the_named_user_and_expires_by_itself(policy_file: Path) -> None:
    """STM-320: filtering switched off for one user is logged and time-limited."""
    changes_path(policy_file).write_text(CHANGES, encoding="utf-8")
    decider = decider_for(policy_file)
    amelia, ben = Subject(group="juniors", user="amelia"), Subject(group="juniors", user="ben")
    assert decider.decide(amelia, "https://hidemyass.com/", LESSON).rule == "change-8"
    assert decider.decide(ben, "https://hidemyass.com/", LESSON).action is Action.BLOCK
    expired = decider.decide(amelia, "https://hidemyass.com/", AFTERNOON)  # same decider
    assert (expired.action, expired.rule) == (Action.BLOCK, "proxies")


def test_no_change_opens_illegal_content_or_closes_a_help_service(policy_file: Path) -> None:
    changes_path(policy_file).write_text(CHANGES, encoding="utf-8")
    amelia = Subject(group="juniors", user="amelia")
    decider = decider_for(policy_file)
    assert decider.decide(amelia, "http://badcsam.example/", LESSON).rule == "illegal-content"
    assert decider.decide(amelia, "https://childline.org.uk/", LESSON).rule == "support-services"


@pytest.mark.parametrize(
    ("edit", "where", "message"),
    [
        (("approved_by: B Head (bhead)", "approved_by: a teacher (ATEACHER)"), ":9:",
         "someone other than its author"),
        (("groups: [juniors]", "groups: [year-12]"), ":5:", "unknown group 'year-12'"),
        (("sites: [bet365.com]", "sites: []"), ":6:", "sites"),
        (("id: 8", "id: 7"), ":11:", "appears twice"),
        (("until: 2026-12-03T12:00", "until: next tuesday"), ":16:", "until"),
        (("until: 2026-12-03T12:00", "until: 2026-12-03T12:00+01:00"), ":16:", "local time"),
    ],
)  # fmt: skip
def test_a_bad_changes_file_names_its_file_and_line(policy_file, edit, where, message) -> None:
    changes_path(policy_file).write_text(CHANGES.replace(*edit, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(policy_file)
    text = str(caught.value)
    assert text.startswith(str(changes_path(policy_file)) + where), text
    assert message in text


def test_the_printed_policy_lists_changes_in_an_appendix(policy_file: Path) -> None:
    from schoolgate.engine.policy.render import render_markdown

    changes_path(policy_file).write_text(CHANGES, encoding="utf-8")
    text = render_markdown(load_policy(policy_file))
    appendix = text[text.index("## Appendix: filter changes approved since adoption") :]
    assert "Maths lesson on odds and probability" in appendix
    assert "every site" in appendix and "03 Dec 2026 12:00" in appendix
    assert "Approved change 7" not in text[: text.index("## Appendix")]


def test_check_sees_a_new_change_without_a_stale_cache(policy_file: Path, tmp_path: Path) -> None:
    """`check` caches compiled snapshots; an approved change must give a new one."""
    import subprocess
    import sys

    lists = tmp_path / "lists" / "gambling"
    lists.mkdir(parents=True)
    (lists / "domains").write_text("bet365.com\n")

    def check() -> str:
        return subprocess.run(
            [sys.executable, "-m", "schoolgate", "check", "--policy", str(policy_file),
             "--lists", str(tmp_path / "lists"), "--group", "juniors", "--at",
             "2026-12-03T10:30", "--json", "https://bet365.com/"],
            capture_output=True, text=True, check=True,
            env={"SCHOOLGATE_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
        ).stdout  # fmt: skip

    assert '"action": "block"' in check()
    changes_path(policy_file).write_text(CHANGES, encoding="utf-8")
    assert '"rule": "change-7"' in check()
