"""The end of the chain: the upstream's answer, from its cache when fresh, else asked for (a
`Reply.later`); an upstream that fails or stays silent gives SERVFAIL."""

from __future__ import annotations

import logging
import time

from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.dns.upstream import Upstream, UpstreamError

log = logging.getLogger(__name__)


class Forwarding(Handler):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def resolve(self, request: DnsRequest) -> Reply:
        cached = self.upstream.cached(request.query, time.time())
        if cached is not None:
            return Reply(cached)
        return Reply(later=self._later(request.query))

    async def _later(self, query: wire.Query) -> bytes | None:
        try:
            return await self.upstream.resolve(query)
        except UpstreamError as exc:
            log.warning("%s", exc)
            return wire.response(query, wire.SERVFAIL)
