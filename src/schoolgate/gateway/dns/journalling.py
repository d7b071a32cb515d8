"""Every decision goes to the journal, as a `schoolgate.events.schema.Event` record (source
`dns`, docs/events.md): blocks and warnings always, allowed names unless the site turns that off.

It journals after the handlers behind it have answered (so the record can say which safe-search
host the name was rewritten to) but before any answer leaves: the transports hand the journal's
events to the OS before they send (issue 8, "nothing answered is lost").
"""

from __future__ import annotations

from schoolgate.engine.policy.schema import Action
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.journal_events import DecisionEncoder, EventSink


class Journalling(Handler):
    def __init__(self, journal: EventSink, journal_allowed: bool = True) -> None:
        self.journal = journal
        self.journal_allowed = journal_allowed
        self._encoder = DecisionEncoder("dns")

    def resolve(self, request: DnsRequest) -> Reply:
        reply = self.next.resolve(request)
        decision = request.decision
        if decision is not None and (self.journal_allowed or decision.action is not Action.ALLOW):
            self.journal.append_payload(
                self._encoder.encode(
                    decision,
                    address=request.client,
                    user=request.subject.user if request.subject else None,
                    target=request.query.name,
                    qtype=request.query.qtype,
                    safe_search=None if request.rewrite is None else request.rewrite.value,
                    unfiltered=request.unfiltered,
                    selftest=request.query.selftest,
                )
            )
        return reply
