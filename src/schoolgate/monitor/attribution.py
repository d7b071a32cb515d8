"""Who held an address at a moment: bindings history and sign-in events over time.

A log line says only "10.0.0.5 asked for X at 10:32". The user is whoever held 10.0.0.5 at
10:32 — not whoever holds it now. `AddressHistory` keeps, per address, the time-ordered
changes of holder: events of kind `binding` or `signin` (the address is now held by `user`,
in `group`), `signout` or a `binding` with no user (the address is free). A moment before the
first change, or after a release, has no holder. Events that already name their user (the
proxy knew, Squid authenticated) keep it. STM-032 (misuse reported with who did it).
"""

from __future__ import annotations

from bisect import bisect_right, insort
from dataclasses import dataclass, field, replace
from datetime import datetime

from schoolgate.events.schema import Event

HOLDER_KINDS = frozenset({"binding", "signin", "signout"})


@dataclass(frozen=True, slots=True)
class Holder:
    user: str | None
    group: str | None


@dataclass
class AddressHistory:
    _changes: dict[str, list[tuple[datetime, int, Holder]]] = field(default_factory=dict)
    _sequence: int = 0

    def record(self, address: str, at: datetime, user: str | None, group: str | None) -> None:
        """From `at` on, `address` is held by `user` (None: nobody)."""
        self._sequence += 1
        changes = self._changes.setdefault(address, [])
        insort(changes, (at, self._sequence, Holder(user, group)))

    def learn(self, event: Event) -> bool:
        """Take a holder change from a binding/signin/signout event; False if it is not one."""
        if event.kind not in HOLDER_KINDS or not event.address:
            return False
        user = None if event.kind == "signout" else event.user
        self.record(event.address, event.at, user, event.group if user else None)
        return True

    def holder(self, address: str | None, at: datetime) -> Holder | None:
        if not address:
            return None
        changes = self._changes.get(address)
        if not changes:
            return None
        index = bisect_right(changes, (at, float("inf")), key=lambda c: (c[0], c[1])) - 1
        if index < 0:
            return None
        held = changes[index][2]
        return held if held.user else None

    def attribute(self, event: Event) -> Event:
        """The event with the user (and group) who held its address then, if it names none.

        An event that names its user keeps it, and takes the holder's group if it is the same
        user (Squid's log knows the user name, the sign-in knows the group)."""
        held = self.holder(event.address, event.at)
        if held is None or (event.user and event.user != held.user):
            return event
        return replace(event, user=held.user, group=event.group or held.group)
