"""Decisions remembered per (subject, what was asked), shared by the DNS resolver and the proxy.

A decision depends only on the subject, the target, the snapshot and the minute (periods start
and end on the minute), so a cached one is exact until the minute changes or another decider (a
reloaded snapshot) is used; either empties the cache. When `limit` entries are reached the cache
is emptied rather than evicting one by one: cheaper, and it refills within a second under load.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from schoolgate.engine.decide import Decision

DEFAULT_LIMIT = 200_000


class DecisionCache:
    def __init__(self, limit: int = DEFAULT_LIMIT, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self._clock = clock
        self._entries: dict[Hashable, Decision] = {}
        self._minute = -1
        self._owner: object = None

    def lookup(self, owner: object, key: Hashable, decide: Callable[[], Decision]) -> Decision:
        """The cached decision for `key` made by `owner` (the decider), or `decide()`'s."""
        minute = int(self._clock()) // 60
        if minute != self._minute or owner is not self._owner:
            self._entries = {}
            self._minute, self._owner = minute, owner
        decision = self._entries.get(key)
        if decision is None:
            decision = decide()
            if len(self._entries) >= self.limit:
                self._entries = {}
            self._entries[key] = decision
        return decision

    def clear(self) -> None:
        self._entries = {}

    def __len__(self) -> int:
        return len(self._entries)
