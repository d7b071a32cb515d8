"""The filtering DNS resolver, transport-independent: a query packet in, a `Reply` out.

The packet is parsed here (malformed ones are answered FORMERR/NOTIMP when the header can be
trusted, dropped otherwise); then the request goes down the handler chain, whose order is set
in `Resolver.__init__` and nowhere else. Transports (`server.py`) hand the journal's events to
the OS (`hand_over`) before they send any answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from schoolgate.engine.decide import Decider
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.decision_cache import DEFAULT_BYTES, DecisionCache
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.asking import Asking
from schoolgate.gateway.dns.blocking import Blocking
from schoolgate.gateway.dns.canary import DohCanary
from schoolgate.gateway.dns.chain import Handler, link
from schoolgate.gateway.dns.filtering import Filtering
from schoolgate.gateway.dns.forwarding import Forwarding
from schoolgate.gateway.dns.journalling import Journalling
from schoolgate.gateway.dns.probing import ProbeAnswering
from schoolgate.gateway.dns.request import SILENCE, DnsRequest, Reply
from schoolgate.gateway.dns.rewriting import SafeSearchRewriting
from schoolgate.gateway.dns.safesearch import SafeSearch
from schoolgate.gateway.dns.upstream import Upstream, UpstreamError
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.journal_events import EventSink
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import BlockPage


class Resolver:
    def __init__(
        self,
        holder: SnapshotHolder,
        upstream: Upstream,
        *,
        identity: Identity | None = None,
        who: WhoIsAsking | None = None,
        agreements: AgreementCheck | None = None,
        journal: EventSink | None = None,
        block_page: BlockPage | None = None,
        block_ttl: int = 60,
        safe_search: SafeSearch | None = None,
        doh_domains: frozenset[str] = frozenset(),
        journal_allowed: bool = True,
        decision_cache_bytes: int = DEFAULT_BYTES,
    ) -> None:
        self.upstream = upstream
        self.journal = journal
        self.errors = 0
        self.journal_allowed = journal_allowed
        self.blocking = Blocking(block_page or BlockPage(), block_ttl)
        self.asking = Asking(who or WhoIsAsking((identity or Identity()).identify, agreements))
        self.filtering = Filtering(doh_domains, DecisionCache(max_bytes=decision_cache_bytes))
        self.safe_search = safe_search or SafeSearch()
        self.journalling = Journalling(journal, journal_allowed) if journal is not None else None
        self.handlers: list[Handler] = [
            # 1. The DoH canary: browsers that get NXDOMAIN for it keep using this resolver.
            DohCanary(),
            # 2. Who is asking: address, signed-in user, bindings, agreement -> Subject.
            self.asking,
            # 3. The policy's decision for subject and name (cached; DoH endpoints blocked;
            #    the policy's fail_mode when it cannot be applied).
            self.filtering,
            # 4. Journal the decision once the handlers below have answered (before it is sent).
            *([self.journalling] if self.journalling is not None else []),
            # 5. Blocked: the block page's address or NXDOMAIN.
            self.blocking,
            # 6. A self-test probe that is not blocked: decided, never forwarded.
            ProbeAnswering(),
            # 7. Safe search: search engines' names answered with their safe hosts.
            SafeSearchRewriting(self.safe_search, upstream),
            # 8. Everything else: the upstream's answer (cached by TTL).
            Forwarding(upstream),
        ]
        self.chain = link(self.handlers)
        self._policy_changed(holder.decider)
        holder.on_reload(lambda snapshot, decider: self._policy_changed(decider))

    def _policy_changed(self, decider: Decider) -> None:
        for handler in self.handlers:
            handler.policy_changed(decider)
        self.decider = decider
        """The snapshot's decider the handlers have (the fast lane catches up with it)."""

    def handle(self, data: bytes, client: str, moment: datetime | None = None) -> Reply:
        """The reply to one query packet from `client`, decided for `moment` (aware; the
        transport reads the clock once per batch; None reads it now)."""
        try:
            query = wire.parse_query(data)
        except wire.WireError as exc:
            self.errors += 1
            if exc.rcode is None:
                return SILENCE
            return Reply(wire.header_only_error(data, exc.rcode))
        return self.chain.resolve(DnsRequest(query, client, moment or datetime.now(UTC)))

    def forward(
        self,
        query: wire.Query,
        send: Callable[[bytes], None],
        *,
        attempt: int = 0,
        over_tcp: bool = False,
    ) -> None:
        """Ask the upstream (`Reply.forward`); `send` gets its answer, or SERVFAIL, once the
        journal's events are handed over. `attempt` and `over_tcp`: see `Upstream.ask`."""

        def done(answer: bytes | None) -> None:
            if answer is None:
                answer = wire.response(query, wire.SERVFAIL)
            self.hand_over()
            send(answer)

        self.upstream.ask(query, done, attempt=attempt, over_tcp=over_tcp)

    async def complete(self, reply: Reply) -> bytes | None:
        """The answer a reply stands for, waiting for the upstream if it must (TCP's path)."""
        if reply.later is not None:
            return await reply.later
        if reply.forward is not None:
            try:
                return await self.upstream.resolve(reply.forward)
            except UpstreamError:
                return wire.response(reply.forward, wire.SERVFAIL)
        return reply.packet

    def hand_over(self) -> None:
        """Give the journal's waiting events to the OS; transports call it before they answer."""
        if self.journal is not None:
            self.journal.hand_over()
