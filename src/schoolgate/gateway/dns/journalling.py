"""Every decision goes to the journal, as a `schoolgate.events.schema.Event` record (source
`dns`, docs/events.md): blocks and warnings always, allowed names unless the site turns that off.

It journals after the handlers behind it have answered (so the record can say which safe-search
host the name was rewritten to) but before any answer leaves: the transports hand the journal's
events to the OS before they send (issue 8, "nothing answered is lost").

Cheap enough to leave on (issue 8: journal on ≥ 0.8× journal off): a query only notes what its
record needs (and the time); the journal's hand-over — once per batch of datagrams, before their
answers go out — encodes the noted decisions together (`DecisionEncoder`, one tight loop) and
writes them with one `write()`. Encoding them one at a time, between decisions, cost several
times as much per event: each decision's own work pushes the encoder out of the CPU's caches.
"""

from __future__ import annotations

import time
from collections import deque

from schoolgate.engine.policy.schema import Action
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.journal_events import DecisionEncoder, EventSink


class Journalling(Handler):
    def __init__(self, journal: EventSink, journal_allowed: bool = True) -> None:
        self.journal = journal
        self.journal_allowed = journal_allowed
        self._encoder = DecisionEncoder("dns")
        self._noted: deque[tuple] = deque()  # append and popleft are safe from any thread
        journal.add_source(self._drain)

    def resolve(self, request: DnsRequest) -> Reply:
        reply = self.next.resolve(request)
        decision = request.decision
        if decision is not None and (self.journal_allowed or decision.action is not Action.ALLOW):
            subject, query, rewrite = request.subject, request.query, request.rewrite
            self._noted.append(
                (
                    decision,
                    request.client,
                    subject.user if subject else None,
                    query.name,
                    query.qtype,
                    None if rewrite is None else rewrite.value,
                    request.unfiltered,
                    query.selftest,
                    time.time(),
                )
            )
        return reply

    def _drain(self) -> None:
        """Encode every noted decision into one buffer and give it to the journal (called by
        the journal's `hand_over`, before the answers go out)."""
        records = bytearray()
        count = self.take_records(records)
        if count:
            self.journal.append_records(records, count)

    def take_records(self, out: bytearray) -> int:
        """Encode the decisions noted so far onto `out` instead; returns how many (the fast
        lane puts them among its own records, in the order the queries came)."""
        return self._encoder.encode_records(self._noted, out) if self._noted else 0
