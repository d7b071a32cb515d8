"""Who is asking: the client's address becomes a `Subject` (group, user, agreement signed,
nominated) through the gateway's one "who is asking" resolver (`schoolgate.gateway.asking`)."""

from __future__ import annotations

from schoolgate.engine.decide import Decider
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply


class Asking(Handler):
    def __init__(self, who: WhoIsAsking) -> None:
        self.who = who
        self._decider: Decider | None = None

    def policy_changed(self, decider: Decider) -> None:
        self._decider = decider

    def resolve(self, request: DnsRequest) -> Reply:
        if request.query.name:  # the root name is never decided on
            request.subject = self.who.subject_at(request.client, self._decider)
        return self.next.resolve(request)
