"""A filtering self-test probe the policy does not block is answered here: decided, journalled
(by the handler before), but never forwarded. Like the proxy's `204` for a probe, nothing is
looked up on the school's behalf for a test, and a filtering upstream (an ISP's resolver) cannot
blur what Schoolgate itself decided. The answer is empty (NOERROR) with the Extended DNS Error
"Other" (RFC 8914) saying `schoolgate selftest: allow` (or `warn`), when the probe carries the
self-test EDNS option (`wire.SELFTEST_OPTION`, `gateway/selftest.py`)."""

from __future__ import annotations

from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply

NOTE = "schoolgate selftest: "


class ProbeAnswering(Handler):
    def resolve(self, request: DnsRequest) -> Reply:
        decision = request.decision
        if not request.query.selftest or decision is None:
            return self.next.resolve(request)
        note = NOTE + decision.action.value
        return Reply(wire.response(request.query, wire.NOERROR, note=note))
