"""The decision cache shared by the DNS resolver and the proxy: exact until the minute changes or
another decider (a reloaded snapshot) asks."""

from __future__ import annotations

from datetime import UTC, datetime

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action
from schoolgate.gateway.decision_cache import DecisionCache
from tests.gateway.proxy_support import test_snapshot


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_020.0

    def __call__(self) -> float:
        return self.now


def counting(decider: Decider, calls: list[str]):
    def decide(subject: Subject, url: str):
        def fresh() -> Decision:
            calls.append(url)
            return decider.decide(subject, url, datetime(2026, 3, 2, 10, 0))

        return fresh

    return decide


def test_repeats_are_answered_from_the_cache_until_the_minute_changes():
    decider, calls, clock = Decider(test_snapshot()), [], Clock()
    cache = DecisionCache(clock=clock)
    decide = counting(decider, calls)
    pupil = Subject(group="pupils")
    first = cache.lookup(decider, (pupil, "http://blocked.test/"), decide(pupil, "blocked.test"))
    again = cache.lookup(decider, (pupil, "http://blocked.test/"), decide(pupil, "blocked.test"))
    assert first is again and first.action is Action.BLOCK
    staff = Subject(group="staff")
    for_staff = cache.lookup(decider, (staff, "http://blocked.test/"), decide(staff, "x"))
    assert for_staff.action is Action.ALLOW  # the subject is part of the key
    clock.now += 60  # periods start and end on the minute
    cache.lookup(decider, (pupil, "http://blocked.test/"), decide(pupil, "blocked.test"))
    assert calls == ["blocked.test", "x", "blocked.test"]


def test_another_decider_empties_the_cache():
    old, new, calls = Decider(test_snapshot()), Decider(test_snapshot()), []
    cache = DecisionCache(clock=Clock())
    pupil = Subject(group="pupils")
    cache.lookup(old, (pupil, "a"), counting(old, calls)(pupil, "http://a.test/"))
    cache.lookup(new, (pupil, "a"), counting(new, calls)(pupil, "http://a.test/"))
    assert calls == ["http://a.test/", "http://a.test/"]


def test_a_full_cache_starts_again_instead_of_growing():
    decider, calls = Decider(test_snapshot()), []
    cache = DecisionCache(limit=3, clock=Clock())
    pupil = Subject(group="pupils")
    for n in range(5):
        url = f"http://site{n}.test/"
        cache.lookup(decider, (pupil, url), counting(decider, calls)(pupil, url))
    assert len(cache) == 2 and len(calls) == 5


def test_a_byte_cap_empties_the_cache_before_it_grows_past_it():
    decider, clock = Decider(test_snapshot()), Clock()
    cache = DecisionCache(clock=clock, max_bytes=10_000)
    pupil = Subject(group="pupils")
    for i in range(200):
        url = f"http://n{i}.blocked.test/"
        cache.lookup(
            decider, (pupil, url), lambda url=url: decider.decide(pupil, url, datetime.now(UTC))
        )
        assert cache.bytes <= 10_000
    assert 0 < len(cache) < 20


def test_decisions_are_kept_for_the_minute_they_were_made_for():
    """A batch read at 10:59:59.999 and looked up after the tick: its decisions are 10:59's and
    must not answer for 11:00 (the chain's clock said 11:00; issue 9, TM-057 boundaries)."""
    decider, calls = Decider(test_snapshot()), []
    clock = Clock()
    cache = DecisionCache(clock=clock)
    pupil = Subject(group="pupils")
    before = datetime(2026, 3, 2, 10, 59, 59, 999_000, tzinfo=UTC)
    clock.now = before.timestamp() + 0.01  # the wall clock has ticked past the minute
    after = datetime(2026, 3, 2, 11, 0, 0, 100_000, tzinfo=UTC)
    decide = counting(decider, calls)
    cache.lookup(decider, (pupil, "a"), decide(pupil, "http://a.test/"), before)
    cache.lookup(decider, (pupil, "a"), decide(pupil, "http://a.test/"), after)
    assert calls == ["http://a.test/", "http://a.test/"]
