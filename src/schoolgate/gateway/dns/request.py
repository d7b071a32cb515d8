"""What travels down the DNS handler chain (`chain.py`): one `DnsRequest` in, one `Reply` out.

A `DnsRequest` is the parsed query and the client's address; handlers fill in what they learn
(`subject`: who is asking; `decision`: what the policy says; `rewrite`: the safe-search host) for
the handlers after them. A `Reply` is the one thing every handler returns: an answer packet now,
an answer later (`later`, a coroutine, when the upstream must be asked), or silence (neither).
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from schoolgate.engine.decide import Decision, Subject
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.safesearch import Rewrite


class DnsRequest:
    __slots__ = ("client", "decision", "query", "rewrite", "subject", "unfiltered")

    def __init__(self, query: wire.Query, client: str) -> None:
        self.query = query
        self.client = client
        self.subject: Subject | None = None
        self.decision: Decision | None = None
        self.rewrite: Rewrite | None = None
        self.unfiltered: str | None = None
        """Why the policy could not be applied and the answer went out unfiltered (fail-open)."""


class Reply:
    """An answer packet now (`packet`), one later (`later`), or silence (neither)."""

    __slots__ = ("later", "packet")

    def __init__(
        self,
        packet: bytes | None = None,
        later: Coroutine[Any, Any, bytes | None] | None = None,
    ) -> None:
        self.packet = packet
        self.later = later


SILENCE = Reply()
