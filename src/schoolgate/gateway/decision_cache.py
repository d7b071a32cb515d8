"""Decisions remembered per (subject, what was asked), shared by the DNS resolver and the proxy.

A decision depends only on the subject, the target, the snapshot and the minute (periods start
and end on the minute), so a cached one is exact until the minute changes or another decider (a
reloaded snapshot) is used; either empties the cache. The cache is capped by entries (`limit`)
and by an estimate of the memory its entries hold (`max_bytes`: a fixed cost per entry, measured
with tracemalloc, plus the name and reason text); past either, it is emptied rather than evicted
one by one: cheaper, and it refills within a second under load. The DNS resolver caps it by
bytes so a flood of distinct names cannot grow the process (issue 9: ~1 KB per decision grew
DNS from 96 to 305 MiB).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from datetime import datetime

from schoolgate.engine.decide import Decision

DEFAULT_LIMIT = 200_000
DEFAULT_BYTES = 16 * 1024 * 1024
ENTRY_OVERHEAD_BYTES = 700
"""A cached DNS decision's own objects (key tuple, Decision, its tuples), text aside."""


class DecisionCache:
    def __init__(
        self,
        limit: int = DEFAULT_LIMIT,
        clock: Callable[[], float] = time.time,
        *,
        max_bytes: int | None = None,
    ) -> None:
        self.limit = limit
        self.max_bytes = max_bytes
        self.bytes = 0
        self._clock = clock
        self._entries: dict[Hashable, Decision] = {}
        self._minute = -1
        self._owner: object = None

    def lookup(
        self,
        owner: object,
        key: Hashable,
        decide: Callable[[], Decision],
        at: datetime | None = None,
    ) -> Decision:
        """The cached decision for `key` made by `owner` (the decider), or `decide()`'s.
        `at`: the moment `decide()` decides for; the cache keeps decisions for that moment's
        minute (else the clock's). Passing it matters: a batch read at 15:29:59.999 and looked
        up just after the tick must not leave its 15:29 decisions in the cache for 15:30."""
        minute = int(at.timestamp() if at is not None else self._clock()) // 60
        if minute != self._minute or owner is not self._owner:
            self.clear()
            self._minute, self._owner = minute, owner
        decision = self._entries.get(key)
        if decision is None:
            decision = decide()
            size = ENTRY_OVERHEAD_BYTES + 2 * len(decision.target) + len(decision.reason)
            if len(self._entries) >= self.limit or (
                self.max_bytes is not None and self.bytes + size > self.max_bytes
            ):
                self.clear()
            self._entries[key] = decision
            self.bytes += size
        return decision

    def clear(self) -> None:
        self._entries = {}
        self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)
