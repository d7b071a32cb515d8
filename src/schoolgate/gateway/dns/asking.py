"""Who is asking: the client's address becomes a `Subject` (group, user, agreement signed,
nominated) through the gateway's one "who is asking" resolver (`schoolgate.gateway.asking`).

Worked out once per client per batch of datagrams (the batch's `moment`): a batch is mostly
one client's queries, and bindings or agreements that change between batches still count from
the next batch on."""

from __future__ import annotations

from datetime import datetime

from schoolgate.engine.decide import Decider, Subject
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply


class Asking(Handler):
    def __init__(self, who: WhoIsAsking) -> None:
        self.who = who
        self._decider: Decider | None = None
        self._subjects: dict[str, Subject] = {}
        self._moment: datetime | None = None

    def policy_changed(self, decider: Decider) -> None:
        self._decider = decider
        self._subjects = {}

    def resolve(self, request: DnsRequest) -> Reply:
        if request.query.name:  # the root name is never decided on
            request.subject = self.subject_at(request.client, request.moment)
        return self.next.resolve(request)

    def subject_at(self, client: str, moment: datetime) -> Subject:
        """Who `client` is for the batch read at `moment` (the fast lane asks here too)."""
        if moment is not self._moment:
            self._subjects, self._moment = {}, moment
        subject = self._subjects.get(client)
        if subject is None:
            subject = self._subjects[client] = self.who.subject_at(client, self._decider)
        return subject
