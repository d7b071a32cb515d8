"""Safe search: for a group with safe search on, a search engine's name is answered with a CNAME
to its safe-search host, then that host's addresses from the upstream (`safesearch.py` has the
tables); Yandex-style `A` rewrites are answered with the address directly."""

from __future__ import annotations

import ipaddress
import logging
import time

from schoolgate.engine.decide import Decider
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.dns.safesearch import SafeSearch
from schoolgate.gateway.dns.upstream import Upstream, UpstreamError

log = logging.getLogger(__name__)

REWRITE_TTL = 300


class SafeSearchRewriting(Handler):
    def __init__(self, safe_search: SafeSearch, upstream: Upstream) -> None:
        self.safe_search = safe_search
        self.upstream = upstream
        self._groups: frozenset[str] | set[str] = frozenset()
        self._youtube = "strict"

    def policy_changed(self, decider: Decider) -> None:
        self._groups = self.safe_search.groups_for(decider.policy)
        self._youtube = decider.policy.safe_search.youtube

    def resolve(self, request: DnsRequest) -> Reply:
        decision = request.decision
        if decision is None or decision.group not in self._groups:
            return self.next.resolve(request)
        rewrite = self.safe_search.rewrite(request.query.name, self._youtube)
        if rewrite is None:
            return self.next.resolve(request)
        request.rewrite = rewrite
        query = request.query
        if rewrite.kind == "A":
            if query.qtype != wire.A:
                return Reply(wire.response(query, wire.NOERROR))
            address = ipaddress.IPv4Address(rewrite.value).packed
            record = wire.record_to_qname(wire.A, REWRITE_TTL, address)
            return Reply(wire.response(query, wire.NOERROR, record, 1))
        return self._cname_answer(query, rewrite.value)

    def _cname_answer(self, query: wire.Query, target: str) -> Reply:
        target_wire = wire.encode_name(target)
        cname = wire.record_to_qname(wire.CNAME, REWRITE_TTL, target_wire)
        if query.qtype not in (wire.A, wire.AAAA):
            return Reply(wire.response(query, wire.NOERROR, cname, 1))
        inner = _make_query(target_wire, query.qtype)
        cached = self.upstream.cached(inner, time.time())
        if cached is not None:
            return Reply(_cname_then(query, target, cname, cached))
        return Reply(later=self._cname_answer_later(query, target, cname, inner))

    async def _cname_answer_later(
        self, query: wire.Query, target: str, cname: bytes, inner: wire.Query
    ) -> bytes:
        try:
            answer = await self.upstream.resolve(inner)
        except UpstreamError as exc:
            log.warning("safe-search host %s: %s", target, exc)
            return wire.response(query, wire.SERVFAIL)
        return _cname_then(query, target, cname, answer)


def _cname_then(query: wire.Query, target: str, cname: bytes, answer: bytes) -> bytes:
    """The CNAME to `target`, then the addresses in the upstream's `answer` for it."""
    try:
        _, rcode, records = wire.parse_records(answer)
    except wire.WireError as exc:
        log.warning("safe-search host %s: %s", target, exc)
        return wire.response(query, wire.SERVFAIL)
    extra = [
        wire.record(r.owner, r.rtype, r.rclass, r.ttl, r.rdata)
        for r in records
        if r.section == 0 and r.rtype in (wire.A, wire.AAAA, wire.CNAME)
    ]
    return wire.response(query, rcode, cname + b"".join(extra), 1 + len(extra))


def _make_query(name_wire: bytes, qtype: int) -> wire.Query:
    question = name_wire + wire.QUESTION_FIXED.pack(qtype, wire.CLASS_IN)
    raw = wire.HEADER.pack(0, wire.RD, 1, 0, 0, 0) + question
    return wire.Query(0, wire.RD, wire.name_text(name_wire), qtype, 1, question, None, False, raw)
