"""What travels down the DNS handler chain (`chain.py`): one `DnsRequest` in, one `Reply` out.

A `DnsRequest` is the parsed query, the client's address and the moment (the transport reads
the clock once per batch of datagrams: the engine never reads it); handlers fill in what they learn
(`subject`: who is asking; `decision`: what the policy says; `rewrite`: the safe-search host) for
the handlers after them. A `Reply` is the one thing every handler returns: an answer packet now,
the query to forward (`forward`: the transport asks the upstream, `Upstream.ask`, with no
coroutine per query), an answer later (`later`, a coroutine, for the rare answers built from an
upstream's, e.g. safe search), or silence (none of them).
"""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import datetime
from typing import Any

from schoolgate.engine.decide import Decision, Subject
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.safesearch import Rewrite


class DnsRequest:
    __slots__ = ("client", "decision", "moment", "query", "rewrite", "subject", "unfiltered")

    def __init__(self, query: wire.Query, client: str, moment: datetime) -> None:
        self.query = query
        self.client = client
        self.moment = moment
        self.subject: Subject | None = None
        self.decision: Decision | None = None
        self.rewrite: Rewrite | None = None
        self.unfiltered: str | None = None
        """Why the policy could not be applied and the answer went out unfiltered (fail-open)."""


class Reply:
    """An answer packet now (`packet`), the upstream's answer to `forward`, one later (`later`),
    or silence (none)."""

    __slots__ = ("forward", "later", "packet")

    def __init__(
        self,
        packet: bytes | None = None,
        later: Coroutine[Any, Any, bytes | None] | None = None,
        forward: wire.Query | None = None,
    ) -> None:
        self.packet = packet
        self.later = later
        self.forward = forward


SILENCE = Reply()
