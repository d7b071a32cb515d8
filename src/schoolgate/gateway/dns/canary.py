"""`use-application-dns.net` answers NXDOMAIN: browsers that see it keep using this resolver
instead of switching to DNS over HTTPS, which would bypass the school's filtering."""

from __future__ import annotations

from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply

DOH_CANARY = "use-application-dns.net"


class DohCanary(Handler):
    def resolve(self, request: DnsRequest) -> Reply:
        if request.query.name == DOH_CANARY:
            return Reply(wire.response(request.query, wire.NXDOMAIN))
        return self.next.resolve(request)
