"""Monitoring false positives a second person agreed to stop alerting on (issue 13), kept in the
changes file beside the policy with the filter changes (issue 12; STM-315 four eyes).

A site exclusion silences the site's own category and list alerts, never what it is blocked or
allowed as; a term exclusion silences a search whose only matching terms are excluded. Neither
touches illegal content or circumvention."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import PolicyError, load_policy, parse_policy
from schoolgate.engine.policy.schema import Action, AlertLevel
from tests.engine.sample_policy import SAMPLE_POLICY, sample_index

LESSON = datetime(2026, 11, 30, 10, 0)
EXCLUSIONS = """schema_version: 1
exclusions:
  - {id: 1, kind: site, value: bet365.com, reason: Maths odds lesson site, proposed_by: D Lead (dlead), approved_by: E Deputy (edeputy), approved_at: 2026-12-03T09:00}
  - {id: 2, kind: term, value: noose, reason: Scouts knot-tying homework, proposed_by: D Lead (dlead), approved_by: E Deputy (edeputy), approved_at: 2026-12-03T09:05}
  - {id: 3, kind: site, value: badcsam.example, reason: never honoured, proposed_by: D Lead (dlead), approved_by: E Deputy (edeputy), approved_at: 2026-12-03T09:10}
  - {id: 4, kind: site, value: hidemyass.com, reason: never honoured, proposed_by: D Lead (dlead), approved_by: E Deputy (edeputy), approved_at: 2026-12-03T09:10}
"""  # noqa: E501


@pytest.fixture
def decider(tmp_path: Path) -> Decider:
    path = tmp_path / "sample.yaml"
    path.write_text(SAMPLE_POLICY, encoding="utf-8")
    changes_path(path).write_text(EXCLUSIONS, encoding="utf-8")
    return Decider(SimpleNamespace(policy=load_policy(path), index=sample_index()))


def search(decider: Decider, words: str):
    url = "https://www.google.com/search?q=" + words.replace(" ", "+")
    return decider.decide(Subject("juniors"), url, LESSON)


def test_a_site_exclusion_keeps_the_block_and_drops_the_alert(decider: Decider) -> None:
    bet = decider.decide(Subject("juniors"), "https://bet365.com/", LESSON)
    assert (bet.action, bet.alert, bet.notify) == (Action.BLOCK, AlertLevel.NONE, ())


def test_a_term_exclusion_silences_only_searches_made_of_excluded_terms(decider) -> None:
    assert search(decider, "noose knot").alert is AlertLevel.NONE
    assert search(decider, "how to kill myself").alert is AlertLevel.CRITICAL
    assert search(decider, "overdose symptoms").alert is AlertLevel.LOW


def test_illegal_content_and_circumvention_are_never_excluded(decider: Decider) -> None:
    illegal = decider.decide(Subject("juniors"), "https://badcsam.example/", LESSON)
    assert illegal.alert is AlertLevel.CRITICAL
    proxy = decider.decide(Subject("juniors"), "https://hidemyass.com/", LESSON)
    assert proxy.alert is not AlertLevel.NONE


def test_without_the_exclusions_the_same_requests_alert() -> None:
    plain = Decider(SimpleNamespace(policy=parse_policy(SAMPLE_POLICY), index=sample_index()))
    bet = plain.decide(Subject("juniors"), "https://bet365.com/", LESSON)
    assert bet.alert is AlertLevel.MEDIUM
    assert search(plain, "noose knot").alert is AlertLevel.HIGH


def test_an_exclusion_approved_by_its_author_is_refused_stm_315(tmp_path: Path) -> None:
    path = tmp_path / "sample.yaml"
    path.write_text(SAMPLE_POLICY, encoding="utf-8")
    changes_path(path).write_text(
        EXCLUSIONS.replace("approved_by: E Deputy (edeputy)", "approved_by: D Lead (dlead)", 1),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError, match="someone other than its author"):
        load_policy(path)
