"""The DNS resolver's fast lane: plain queries handled in C, the handler chain's answer repeated.

Issue 9 asks for unbound's queries per second on distinct names. The handler chain (`resolver.py`)
spends most of a query's time in Python calls, so the common case runs in C (`_fastlane.c`):
receiving a batch (`recvmmsg`), deciding, journalling, answering blocked names and forwarding
allowed ones, relaying the upstream's answers and sending (`sendmmsg`). The chain stays the
reference and the only place a decision is made: the lane only repeats what it learnt from it.

What the lane answers by itself, and why that is exact:
- The query: one question of class IN, a name of ASCII letters, digits, `-` and `_`, at most an
  OPT record, no self-test option. Anything else goes to the chain ("punted").
- The name is *plain* (`Decider.is_plain`): no support service, site list or alert exclusion
  names it or a parent, and it is not a search. The engine then gives every plain name with the
  same categories the same decision, for the same subject, this minute (`Decider._shaped`), but
  for the name in the reason. Names some handler treats specially (DoH endpoints, the DoH canary,
  safe-search hosts, URL-list hosts) are punted too (`_punt_table`).
- Categories: the lane ORs the snapshot's own `domains` masks over the name's suffixes, as
  `CategoryIndex.mask_for` does; with none, the host-name classifier's mask for the name's
  registered label (`likely`, learnt from the chain per label). Hashed lists (IWF, CTIRU) are
  looked up by the SHA-256 of each suffix but the top-level one, as `hash_candidates`. A name
  holding a literal that some expression needs (`CategoryIndex.expression_literals`: UT1's
  `/banner/`...) is punted, so no expression can match what the lane answers. An expression with
  no such literal, or periods off the minute, turn the lane off.
- Decisions (`entries`, per subject): learnt when a plain name punted for want of one; before an
  entry is used, the lane renders the answer and journal record for that very query and they
  must equal the chain's (`DecisionEncoder`, `Blocking.answer`), else that entry stays with the
  chain. Entries are forgotten every minute and on every policy reload; who is asking is worked
  out once per client per batch, as `Asking` does, so a signed agreement counts from the next batch.
- Journal: the lane's records go to the journal before any answer of the batch leaves (issue 8).
- Upstream: allowed names go to the upstream the chain would use first, on the lane's own
  sockets; answers are relayed with the client's ID and question and put in the chain's cache.
  Names in that cache or in flight there are punted, so a cached answer is served as before.
  A truncated answer, one to another question, or none in time is handed back: the chain's
  `Upstream` asks again (TCP, the next upstream, SERVFAIL at the end).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.lists.host_classifier import name_part
from schoolgate.engine.policy.schema import Action
from schoolgate.engine.targets import Target
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.canary import DOH_CANARY
from schoolgate.gateway.dns.upstream import connected_udp_socket
from schoolgate.gateway.journal_events import DecisionEncoder

try:
    from schoolgate.gateway.dns import _fastlane
except ImportError:  # not built: the chain answers everything
    _fastlane = None

log = logging.getLogger(__name__)

SWITCH = "SCHOOLGATE_DNS_FAST_LANE"
"""Set to 0 to turn the lane off (the chain answers everything)."""
_LIKELY_KEPT = 100_000
_SLOTS_KEPT = 10_000
_LITERALS_CHECKED = 256
"""The lane looks for each literal an expression needs in every name; more, and it stays off."""
_TIME_TEXT = len("2026-12-03T21:55:33.123456")

Send = Callable[[bytes, bytes, Any], None]
"""How the transport sends an answer: (answer, the client's query, the client's address)."""


def available() -> bool:
    """Whether the lane is built and not switched off."""
    return _fastlane is not None and os.environ.get(SWITCH, "1") != "0"


def enabled_for(decider: Decider) -> bool:
    """Whether the lane can answer any name under `decider`'s snapshot (`_literals_for`)."""
    return _literals_for(decider) is not None


def _literals_for(decider: Decider) -> frozenset[str] | None:
    """The literals a name must not hold for the lane to answer it, or None when the lane can
    answer no name: none is plain (a site list names everything, a period starts off the
    minute), or some list expression needs no literal, or too many (`_LITERALS_CHECKED`)."""
    literals = decider.index.expression_literals()
    if decider.hosts_not_plain() is None or literals is None:
        return None
    return literals if len(literals) <= _LITERALS_CHECKED else None


def _punt_table(decider: Decider, hosts: frozenset[str], resolver: Any) -> dict[str, int]:
    """Names (and, for `PUNT_SUFFIX`, their sub-domains) the chain must see."""
    suffix, exact = _fastlane.PUNT_SUFFIX, _fastlane.PUNT_EXACT
    table = dict.fromkeys(hosts, suffix)
    table.update(dict.fromkeys(decider.index.urls, suffix))
    table.update(dict.fromkeys(resolver.filtering.doh_domains, suffix))
    for name in resolver.safe_search.rewrites:
        table.setdefault(name, exact)
    table.setdefault(DOH_CANARY, exact)
    return table


class FastLane:
    """The lane of one UDP listening socket (`server._UdpServer`)."""

    def __init__(self, resolver: Any, sock: socket.socket, send: Send) -> None:
        self.resolver = resolver
        self.upstream = resolver.upstream
        self._send = send
        self._loop = asyncio.get_running_loop()
        self._sockets = [connected_udp_socket(address) for address in self.upstream.servers]
        self.lane = _fastlane.Lane(sock.fileno(), [s.fileno() for s in self._sockets])
        for index, upstream_socket in enumerate(self._sockets):
            self._loop.add_reader(upstream_socket.fileno(), self._relay, index)
        self._encoder = DecisionEncoder("dns")
        self._decider: Decider | None = None
        self._entries: dict[Subject, dict[int, tuple]] = {}
        self._slots: dict[tuple[Subject, str], tuple] = {}
        self._likely: dict[str, int] = {}
        self._minute = -1
        self._moment: datetime | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self.mismatches = 0
        self.policy_changed(resolver.decider)

    # The policy -------------------------------------------------------------------------------

    def policy_changed(self, decider: Decider) -> None:
        """A snapshot was loaded: forget what was learnt and read the new tables. Called from
        `take`, on the event loop's thread, before a batch: snapshots are reloaded on a watcher
        thread, and C must never find its tables changed while it reads them."""
        if decider is self._decider:
            return
        self._decider = decider
        self._entries, self._slots, self._likely = {}, {}, {}
        try:
            index, literals = decider.index, _literals_for(decider)
            enabled = literals is not None
            domains, hashed = index.domains, index.hashed
            punt = _punt_table(decider, decider.hosts_not_plain(), self.resolver) if enabled else {}
            nxdomain = decider.policy.filtering.block_response == "nxdomain"
        except Exception:  # a snapshot that cannot be applied: the chain's fail mode answers
            log.exception("DNS fast lane: off for this snapshot")
            enabled, domains, hashed, punt, nxdomain, literals = False, {}, {}, {}, False, None
        blocking, cache = self.resolver.blocking, self.upstream.cache
        self.lane.configure(
            enabled=enabled,
            domains=domains,
            hashed=hashed,
            punt=punt,
            literals=tuple(sorted(s.encode() for s in literals or ())),
            likely=self._likely,
            cache=cache.entries if cache.max_entries > 0 else None,
            cache_limit=cache.max_entries,
            waiters=self.upstream.in_flight,
            head=self._encoder.head,
            source=self._encoder.source,
            nxdomain=nxdomain,
            v4=None if blocking.block_page.ipv4 is None else blocking.block_page.ipv4.packed,
            v6=None if blocking.block_page.ipv6 is None else blocking.block_page.ipv6.packed,
            block_ttl=blocking.ttl,
        )

    # One batch --------------------------------------------------------------------------------

    def take(self, moment: datetime) -> tuple[list[tuple[bytes, Any, Any, int]], bytearray, int]:
        """Read the waiting queries: (punted, journal records, how many) — see `_fastlane.c`."""
        if self.resolver.decider is not self._decider:  # reloaded: the chain has it already
            self.policy_changed(self.resolver.decider)
        minute = int(moment.timestamp()) // 60
        if minute != self._minute or len(self._slots) > _SLOTS_KEPT:
            self._minute, self._entries, self._slots = minute, {}, {}
        if len(self._likely) > _LIKELY_KEPT:
            self._likely.clear()
        self._moment = moment
        return self.lane.take(self._slot, self.upstream.preferred)

    def send(self) -> None:
        """Send the batch's answers and forwards (after the journal's hand-over)."""
        self.lane.send()
        if self._sweeper is None and self.lane.waiting():
            self._sweeper = self._loop.call_later(self.upstream.timeout / 4, self._sweep)

    def _slot(self, address: str) -> tuple | None:
        """(address and user as journal bytes, the subject's entries, the subject, address)."""
        asking = self.resolver.asking
        try:
            subject = asking.subject_at(address, self._moment)
        except Exception:  # the chain logs it and applies the fail mode
            return None
        slot = self._slots.get((subject, address))
        if slot is None:
            entries = self._entries.setdefault(subject, {})
            text = self._encoder.subject_json(address, subject.user)
            slot = self._slots[(subject, address)] = (text, entries, subject, address)
        return slot

    # Learning from the chain ------------------------------------------------------------------

    def learn(self, packet: bytes, hint: tuple, moment: datetime) -> None:
        """After the chain answered a query the lane punted for want of a category guess or a
        decision, keep what it needs to answer the next such query itself."""
        why, slot, mask, part = hint
        query = wire.parse_query(packet)
        name, decider = query.name, self._decider
        if why == _fastlane.WHY_LIKELY:
            if part != name_part(name):
                return
            mask = self._likely[part] = decider.index.likely_mask(name)
        target = Target(host=name)
        if not decider.is_plain(target):
            return
        try:
            decision = self.resolver.filtering.decision(slot[2], name, moment)
        except Exception:  # the chain applied the fail mode: nothing to learn
            return
        slot[1][mask] = self._checked(packet, query, slot, decision, self._entry(decision, name))

    def _entry(self, decision: Decision, name: str) -> tuple:
        kind = _fastlane.KIND_BLOCK if decision.action is Action.BLOCK else _fastlane.KIND_FORWARD
        if self.resolver.journal is not None and (
            self.resolver.journal_allowed or decision.action is not Action.ALLOW
        ):
            kind |= _fastlane.FLAG_JOURNAL
        group, tail = self._encoder.fragments(decision, name)
        at = decision.reason.find(": " + name)
        if at < 0:
            return (0, b"", b"", b"")
        before, after = decision.reason[: at + 2], decision.reason[at + 2 + len(name) :]
        return (
            kind,
            group,
            tail + _json_text(before)[:-1],
            _json_text(after)[1:],
        )

    def _checked(
        self, packet: bytes, query: wire.Query, slot: tuple, decision: Decision, entry: tuple
    ) -> tuple:
        """`entry`, if what the lane renders by it for `query` is what the chain gives for
        `decision`."""
        if not entry[0]:
            return entry
        second, micro = 1_700_000_000, 123_456
        answer, payload = self.lane.render(packet, slot, entry, second, micro)
        expected = self._encoder.encode(
            decision,
            address=slot[3],
            user=slot[2].user,
            target=query.name,
            qtype=query.qtype,
            at=second + micro / 1e6,
        )
        start = len(self._encoder.head) + _TIME_TEXT
        same = payload[start:] == expected[start:]
        if answer is not None:
            same = same and answer == self.resolver.blocking.answer(query)
        if same:
            return entry
        self.mismatches += 1
        log.warning("DNS fast lane: %s would differ from the chain; the chain keeps it", query.name)
        return (0, b"", b"", b"")

    # The upstream ----------------------------------------------------------------------------

    def _relay(self, index: int) -> None:
        try:
            back = self.lane.relay(index, time.time())
        except Exception:
            log.exception("DNS fast lane: relaying upstream %s", index)
            return
        self._hand_back(back)

    def _sweep(self) -> None:
        self._sweeper = None
        self._hand_back(self.lane.expired(time.monotonic() - self.upstream.timeout))
        if self.lane.waiting():
            self._sweeper = self._loop.call_later(self.upstream.timeout / 4, self._sweep)

    def _hand_back(self, queries: list[tuple[bytes, Any, int, int]]) -> None:
        """The chain's `Upstream` goes on with these (already decided and journalled) as if it
        had sent the lane's attempt itself: over TCP for a truncated answer, else the retries
        that are left, on the next upstream (one that let the lane's attempt time out is passed
        over for a while)."""
        for packet, address, why, index in queries:
            if why == _fastlane.BACK_EXPIRED:
                self.upstream.did_not_answer(index)
            query = wire.parse_query(packet)
            send = functools.partial(self._send, data=packet, addr=address)
            if why == _fastlane.BACK_TRUNCATED:
                self.resolver.forward(query, send, over_tcp=True)
            else:
                self.resolver.forward(query, send, attempt=1)

    def counts(self) -> tuple[int, int]:
        """(queries the lane handled, queries it handed to the chain)."""
        return self.lane.counts()

    def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for upstream_socket in self._sockets:
            self._loop.remove_reader(upstream_socket.fileno())
            upstream_socket.close()


def _json_text(text: str) -> bytes:
    """`text` as JSON, as the journal writes it (`ensure_ascii=False`), quotes included."""
    return json.encoder.encode_basestring(text).encode()
