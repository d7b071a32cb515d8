"""Who is asking: the one resolver of address, signed-in user, bindings and agreement state into
the `Subject` a decision is made for. The DNS resolver, the proxy, the pages server and the
Squid helper all use it, so a device gets the same group, user and agreement everywhere
(issue 9; before, three copies with different rules).

1. The user: whoever the proxy or Squid authenticated (the user directory gives their group),
   else whoever a log-on binding or the site's subnets put at the address (`Identity`).
2. The key records are filed under: `user:<name>` when the user is known, else `address:<ip>`.
3. The group: the user's or the subnet's, else the policy's default group.
4. The agreement: complete for the group's acceptable-use agreement (`AgreementCheck`: the staff
   app's published state, or the user's own click where the user alone signs); a component with
   no agreement state (a bare test harness) counts everyone as signed.
5. Nominated: the user is one the policy names for `nominated_only` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from schoolgate.engine.decide import Decider, Subject
from schoolgate.gateway.agreement_check import AgreementCheck


class DirectoryEntry(Protocol):
    """A user the proxy or Squid authenticated (`proxy.users.DirectoryUser`)."""

    name: str
    group: str


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is asking: the key records are filed under, and the subject decisions are made for."""

    key: str
    address: str
    user: str | None
    group: str | None

    @classmethod
    def at(cls, address: str, identify: Callable[[str], Subject] | None) -> Visitor:
        """Whoever `identify` (subnets, log-on bindings) says is at `address`."""
        return WhoIsAsking(identify).visitor(address)


class WhoIsAsking:
    def __init__(
        self,
        identify: Callable[[str], Subject] | None = None,
        agreements: AgreementCheck | None = None,
        users: Mapping[str, DirectoryEntry] | None = None,
    ) -> None:
        self.identify = identify
        self.agreements = agreements
        self.users = users or {}

    def visitor(self, address: str, user: str | None = None) -> Visitor:
        """The visitor at `address`; `user` is one the proxy or Squid authenticated."""
        entry = self.users.get(user) if user else None
        if entry is not None:
            return Visitor(f"user:{entry.name}", address, entry.name, entry.group)
        found = self.identify(address) if self.identify is not None else Subject()
        name = user or found.user
        return Visitor(f"user:{name}" if name else f"address:{address}", address, name, found.group)

    def subject(self, visitor: Visitor, decider: Decider) -> Subject:
        group_id = visitor.group or decider.default_group
        signed = self.agreements is None or self.agreements.has_signed(
            visitor.key, decider, group_id, visitor.address
        )
        nominated = visitor.user is not None and visitor.user in decider.policy.nominated_users
        return Subject(group=group_id, user=visitor.user, agreement=signed, nominated=nominated)

    def subject_at(self, address: str, decider: Decider, user: str | None = None) -> Subject:
        return self.subject(self.visitor(address, user), decider)
