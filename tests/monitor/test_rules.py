"""Alert rules over events, from the St Thomas More policy (issue 8; STM-040, STM-167, STM-316)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schoolgate.engine.policy.loader import load_policy
from schoolgate.events.schema import Event
from schoolgate.monitor.rules import AlertRules

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO / "policies" / "st-thomas-more.yaml")


def _event(minutes: float, **fields) -> Event:
    base = {"source": "proxy", "address": "10.0.2.7", "user": "pupil-a", "group": "pupil-ks2"}
    return Event(at=T0 + timedelta(minutes=minutes), **(base | fields))


def test_an_unscanned_search_is_scanned_by_the_monitor(policy) -> None:
    rules = AlertRules(policy)
    refused = _event(
        0,
        target="http://www.google.com/search?q=how+to+kill+myself",
        search="how to kill myself",
        action="block",
        rule="agreement-required",
    )
    [change] = rules.feed(refused)
    assert change.tell and (change.alert.theme, change.alert.level.value) == (
        "self-harm",
        "critical",
    )
    homework = _event(1, search="volcano homework", action="block", rule="agreement-required")
    assert rules.feed(homework) == []


def test_illegal_content_is_critical_at_once(policy) -> None:
    rules = AlertRules(policy)
    [change] = rules.feed(
        _event(0, target="http://x.test/", action="block", categories=("child-sexual-abuse",))
    )
    assert change.tell and change.alert.theme == "illegal-content"
    assert change.alert.level.value == "critical" and "dsl" in change.alert.notify


def test_circumvention_and_repeated_blocks(policy) -> None:
    rules = AlertRules(policy)
    [vpn] = rules.feed(_event(0, target="https://vpn.test/", action="block", categories=("vpn",)))
    assert vpn.alert.theme == "circumvention"
    changes = []
    for i in range(policy.monitoring.repeated_blocks):
        changes += rules.feed(_event(1 + i / 10, target=f"http://g{i}.test/", action="block"))
    repeated = [c for c in changes if c.alert.theme == "repeated-blocks"]
    # The VPN block counts too: the 10th block raises it, the 11th counts on it.
    assert [c.tell for c in repeated] == [True, False] and repeated[-1].alert.count == 2


def test_one_alert_per_user_theme_and_window_with_a_count(policy) -> None:
    rules = AlertRules(policy)
    search = {"search": "s", "keywords": ("k",), "rule": "search-self-harm", "alert": "high"}
    changes = [rules.feed(_event(m, **search))[0] for m in (0, 5, 59)]
    assert [c.tell for c in changes] == [True, False, False]
    assert changes[-1].alert.count == 3
    raised = rules.feed(_event(60, **(search | {"alert": "critical"})))[0]
    assert raised.tell and raised.alert.key != changes[0].alert.key  # a new window
    other = rules.feed(_event(61, user="pupil-b", **search))[0]
    assert other.tell and other.alert.count == 1
    assert len(rules.alerts) == 3


def test_a_rising_level_tells_again(policy) -> None:
    rules = AlertRules(policy)
    search = {"search": "s", "keywords": ("k",), "rule": "search-self-harm"}
    first = rules.feed(_event(0, alert="medium", **search))[0]
    second = rules.feed(_event(1, alert="critical", **search))[0]
    assert first.tell and second.tell and second.alert is first.alert
    assert second.alert.level.value == "critical" and "dsl" in second.alert.notify


def test_the_context_bundle_is_the_last_thirty_minutes(policy) -> None:
    rules = AlertRules(policy)
    rules.feed(_event(0, search="old", action="allow"))
    rules.feed(_event(20, target="http://a.test/", action="block"))
    rules.feed(_event(25, target="http://b.test/", action="allow"))  # neither search nor block
    [change] = rules.feed(
        _event(40, search="s", keywords=("k",), rule="search-self-harm", alert="high")
    )
    assert [e.at for e in change.alert.context] == [T0 + timedelta(minutes=m) for m in (20, 40)]
