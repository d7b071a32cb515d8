"""A blocked name is answered here: with the block page's address (A/AAAA; other types get an
empty answer, so nothing leaks past the filter) or NXDOMAIN, as `filtering.block_response` says.
Either carries the Extended DNS Error "Blocked" (RFC 8914) when the query had EDNS, which is how
the self-test (`gateway/selftest.py`) tells the filter's answer from the real thing."""

from __future__ import annotations

from schoolgate.engine.decide import Decider
from schoolgate.engine.policy.schema import Action
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.site import BlockPage


class Blocking(Handler):
    def __init__(self, block_page: BlockPage, ttl: int) -> None:
        self.block_page = block_page
        self.ttl = ttl
        self._nxdomain = False

    def policy_changed(self, decider: Decider) -> None:
        self._nxdomain = decider.policy.filtering.block_response == "nxdomain"

    def resolve(self, request: DnsRequest) -> Reply:
        decision = request.decision
        if decision is None or decision.action is not Action.BLOCK:
            return self.next.resolve(request)
        return Reply(self.answer(request.query))

    def answer(self, query: wire.Query) -> bytes:
        if self._nxdomain:
            return wire.response(query, wire.NXDOMAIN, authoritative=True, blocked=True)
        address = None
        if query.qtype == wire.A and self.block_page.ipv4 is not None:
            address = self.block_page.ipv4.packed
        elif query.qtype == wire.AAAA and self.block_page.ipv6 is not None:
            address = self.block_page.ipv6.packed
        if address is None:
            return wire.response(query, wire.NOERROR, authoritative=True, blocked=True)
        record = wire.record_to_qname(query.qtype, self.ttl, address)
        return wire.response(query, wire.NOERROR, record, 1, authoritative=True, blocked=True)
