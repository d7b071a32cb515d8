"""The end of the chain: the upstream's answer, from its cache when fresh, else the query to
forward (`Reply.forward`: the transport asks the upstream and sends its answer, or SERVFAIL when
no upstream answers)."""

from __future__ import annotations

import time

from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.dns.upstream import Upstream


class Forwarding(Handler):
    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream

    def resolve(self, request: DnsRequest) -> Reply:
        cached = self.upstream.cached(request.query, time.time())
        if cached is not None:
            return Reply(cached)
        return Reply(forward=request.query)
