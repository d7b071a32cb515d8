"""The DNS resolver as a chain of small handlers, each answering or passing the request on.

Modelled on Blocky's `resolver/` package: one file per concern, one interface (`Handler.resolve`
takes a `DnsRequest`, returns a `Reply`), and the order set once, here, in `build_chain`. A
handler that does not answer calls `self.next.resolve(request)`; the last one (forwarding) always
answers. Handlers that depend on the policy get `policy_changed(decider)` on every snapshot load.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from schoolgate.engine.decide import Decider
from schoolgate.gateway.dns.request import DnsRequest, Reply


class Handler:
    """One step of the chain. Subclasses answer, or pass on to `self.next`."""

    next: Handler

    def resolve(self, request: DnsRequest) -> Reply:
        return self.next.resolve(request)

    def policy_changed(self, decider: Decider) -> None:
        """A snapshot was loaded; handlers that read the policy refresh what they keep of it."""


def link(handlers: Sequence[Handler]) -> Handler:
    """Each handler's `next` is the one after it; returns the first."""
    for handler, following in itertools.pairwise(handlers):
        handler.next = following
    return handlers[0]
