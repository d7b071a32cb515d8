"""Lane on and lane off side by side, for the DNS fast lane's differential tests (issue 9).

The C fast lane (`gateway/dns/_fastlane.c`, `fastlane.py`) must answer and journal byte for byte
what the Python handler chain does. `LanePair` runs two resolvers on one policy, each with its own
real local upstream (`dns_harness.LocalUpstream`) and its own journal: `DnsServer(...,
fast_lane=True)` and `fast_lane=False`. `ask` sends the same packet (fixed ID) from the same
client address to both and returns both answers; `records` reads both journals back.

The servers run on asyncio's loop; `SCHOOLGATE_LANE_LOOP=uvloop` runs them on uvloop, as
`schoolgate dns` does when it is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import Snapshot, compile_snapshot
from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.gateway.dns import wire as dns_wire
from schoolgate.gateway.dns.filtering import Filtering
from schoolgate.gateway.dns.server import DnsServer, Resolver
from schoolgate.gateway.dns.upstream import Upstream
from schoolgate.gateway.reload import SnapshotHolder
from tests.gateway.dns_harness import ZONE, Gateway, LocalUpstream
from tests.gateway.policy_fixtures import write_lists

# A small policy with a time rule, an agreement gate, site lists, safe search and alerts; the
# rules cite the Thomas Mills and St Thomas More requirements they are modelled on.
POLICY = """
schema_version: 1
school: {id: lane-school, name: Lane School, policy_title: Online Safety Policy}
contacts:
  - {role: dsl, title: Designated Safeguarding Lead}
groups:
  - {id: pupils, kind: pupil, title: Pupils, agreement_required: false}
  - {id: sixth-form, kind: pupil, title: Sixth form, agreement_required: false}
  - {id: staff, kind: staff, title: Staff, safe_search: false, agreement_required: false}
  - {id: newcomers, kind: pupil, title: New pupils, agreement_required: true, agreement: pupil-aup}
periods:
  - id: school-hours
    title: School hours
    days: [mon, tue, wed, thu, fri]
    start: "08:30"
    end: "15:30"
    source: {section: Appendix 2, quote: "NOT ALLOWED DURING SCHOOL HOURS", requirements: [TM-057]}
filtering:
  default_group: pupils
  block_response: {block_response}
rules:
  - id: inappropriate-content
    groups: [all]
    categories: [pornography, gambling]
    action: block
    alert: low
    source:
      section: "2.1 Acceptable Use by Pupils"
      quote: "Users must not search for, view or download material of an illegal, offensive"
      requirements: [TM-006]
  - id: no-gaming-in-school-hours
    groups: [pupils, newcomers]
    categories: [games]
    action: block
    periods: [school-hours]
    source: {section: Appendix 2, quote: "INTERNET GAMING IS NOT ALLOWED", requirements: [TM-057]}
  - id: gaming-outside-school-hours
    groups: [pupils, newcomers]
    categories: [games]
    action: warn
    source:
      section: "2.1 Acceptable Use by Pupils"
      quote: "all usage should be of an educational nature"
      requirements: [TM-005, TM-057]
  - id: guessed-from-the-name
    groups: [pupils]
    categories: [likely-gambling, likely-adult]
    action: warn
    source:
      section: "2.1 Acceptable Use by Pupils"
      quote: "all usage should be of an educational nature"
      requirements: [TM-005]
sites:
  - id: blocked-for-pupils
    title: Sites the school has blocked
    groups: [pupils, newcomers]
    action: block
    sites: [listed.test]
    source: {section: Filtering, quote: "Pupils must not visit sites the school has blocked"}
  - id: caution
    title: Sites shown with a warning
    groups: [all]
    action: warn
    sites: [warn.test]
    source: {section: Filtering, quote: "Some sites are shown with a warning first"}
safe_search:
  groups: [pupils, sixth-form]
  youtube: strict
alert_routes:
  - {level: low, notify: [dsl]}
agreements:
  - id: pupil-aup
    title: Pupil Acceptable Use Agreement
    groups: [newcomers]
    statements: ["I will only use the internet when a teacher says I can."]
    source:
      section: Pupil Acceptable Use Agreement
      quote: "If you do not sign and return this agreement, access will not be granted"
      requirements: [STM-228, TM-004]
"""

_WORDS = ("casino", "poker", "slots", "lotto", "jackpot", "roulette", "bingo", "wager")
GAMBLING = tuple(f"{w}{i}-online.{tld}" for i, w in enumerate(_WORDS) for tld in ("com", "net"))
"""UT1-like gambling domains (a small generated list, like shared/data/ut1/gambling)."""

LISTS = {
    "porn.txt": ("pornography", ["adult-site.test", "blocked.example", "adult.games.example"]),
    "gambling.txt": ("gambling", ["bets.example", *GAMBLING]),
    "games.txt": ("games", ["games.example", "minecraft.test"]),
}

SUBNETS = {"127.0.0.0/29": "pupils", "127.0.0.3/32": "staff", "127.0.0.4/32": "sixth-form"}
SUBNETS |= {"127.0.0.5/32": "newcomers", "::1/128": "sixth-form"}
PUPIL, STAFF, SIXTH_FORM, NEWCOMER = "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"
SIXTH_FORM_V6 = "::1"


def make_snapshot(
    directory: Path, block_response: str = "block-page", policy: str = POLICY
) -> Snapshot:
    write_lists(directory, LISTS)
    text = policy.replace("{block_response}", block_response)
    return compile_snapshot(parse_policy(text, "lane-school.yaml"), [directory])


class FakeClock:
    """The server's clock (`datetime.now` in `server.py` and `resolver.py`): a fixed moment that
    tests move on; each reading is a new object, as a real clock's is."""

    def __init__(self, moment: datetime) -> None:
        self.moment = moment
        self.skew = 0.0
        """How far the wall clock (`time.time`, read by the decision cache) is ahead."""

    def now(self, tz: Any = None) -> datetime:
        return (self.moment + timedelta(0)).astimezone(tz or UTC)

    def set(self, moment: datetime, skew: float = 0.0) -> None:
        self.moment, self.skew = moment, skew

    def wall(self) -> float:
        return self.moment.timestamp() + self.skew


class LaneUpstream(LocalUpstream):
    """`LocalUpstream` answering the same bytes every time (dnspython shuffles records unless
    told not to) and as much over UDP as the query's EDNS payload allows; names in
    `wrong_question` are answered for another name, `oversize` in full whatever the payload,
    and a query dnspython cannot read with FORMERR (its question echoed), as resolvers do."""

    wrong_question: frozenset[str] = frozenset({"wrong.allowed.example."})
    zone: ClassVar[dict[str, dict[str, list[str]]]] = {
        **ZONE,
        "big.allowed.example.": ZONE["big.example."],
        "oversize.allowed.example.": ZONE["big.example."],
    }
    oversize = "oversize.allowed.example."
    """Answered in full over UDP whatever the query's payload (a misbehaving upstream)."""
    rcodes: ClassVar[dict[str, int]] = {
        "refused.allowed.example.": dns.rcode.REFUSED,
        "servfail.allowed.example.": dns.rcode.SERVFAIL,
    }
    """Answered with that response code and nothing else (never cached)."""
    special: ClassVar[dict[str, list[str]]] = {
        "ttl0.allowed.example.": ["ttl0.allowed.example. 0 IN A 192.0.2.20"],
        "cname.allowed.example.": [
            "cname.allowed.example. 120 IN CNAME www.allowed.example.",
            "www.allowed.example. 60 IN A 192.0.2.21",
        ],
        "nodata.allowed.example.": [],  # NOERROR, no records, no SOA: nothing to cache by
    }
    """Answered with these records (for an A query), whatever the zone says."""

    def answer(self, wire_query: bytes, tcp: bool) -> bytes | None:
        try:
            query = dns.message.from_wire(wire_query)
        except dns.exception.DNSException:  # e.g. an option longer than its OPT record
            self.received.append("(unparsable) FORMERR")
            end = dns_wire.skip_name(wire_query, 12) + 4
            flags = int.from_bytes(wire_query[2:4], "big") & dns_wire.RD
            flags |= dns_wire.QR | dns_wire.FORMERR
            header = wire_query[:2] + dns_wire.HEADER.pack(0, flags, 1, 0, 0, 0)[2:]
            return header + wire_query[12:end]
        name = query.question[0].name
        rtype = dns.rdatatype.to_text(query.question[0].rdtype)
        wrong = name.to_text().lower() in self.wrong_question
        self.received.append(f"{name.to_text().lower()} {'wrong' if wrong else rtype}")
        if self.silent:
            return None
        if wrong:
            other = dns.message.make_query("other.example", "A")
            other.id = query.id
            reply = dns.message.make_response(other)
            reply.answer.append(dns.rrset.from_text("other.example.", 60, "IN", "A", "192.0.2.9"))
            return reply.to_wire()
        reply = dns.message.make_response(query)
        key = name.to_text().lower()
        records = self.zone.get(key)
        if key in self.rcodes:
            reply.set_rcode(self.rcodes[key])
        elif key in self.special:
            for text in self.special[key] if rtype == "A" else []:
                owner, ttl, _, kind, data = text.split(" ", 4)
                reply.answer.append(dns.rrset.from_text(owner, int(ttl), "IN", kind, data))
        elif records is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            soa = "ns.example. host.example. 1 60 60 60 3600"  # negative answers kept an hour
            reply.authority.append(dns.rrset.from_text("example.", 3600, "IN", "SOA", soa))
        elif rtype in records:
            rrset = dns.rrset.from_text_list(name, self.ttl, "IN", rtype, records[rtype])
            reply.answer.append(rrset)
        wire = reply.to_wire(max_size=65535, want_shuffle=False)
        room = max(512, query.payload if query.edns >= 0 else 512)
        if not tcp and len(wire) > room and name.to_text().lower() != self.oversize:
            reply.answer.clear()
            reply.flags |= dns.flags.TC
            wire = reply.to_wire()
        return wire


class LaneGateway(Gateway):
    """`dns_harness.Gateway` with the fast lane on or off and a journal fsynced every
    `journal_flush` seconds."""

    def __init__(self, snapshot: Any, journal_dir: Path, fast_lane: bool, **options: Any) -> None:
        self.fast_lane = fast_lane
        self.upstream_server = LaneUpstream(ttl=options.pop("upstream_ttl", 300))
        self.upstream_server.silent = options.pop("upstream_silent", False)
        self.holder = options.pop("holder", None) or SnapshotHolder(snapshot=snapshot)
        flush = options.pop("journal_flush", 0.01)
        self.clock: FakeClock | None = options.pop("clock", None)
        self.journal = JournalWriter(journal_dir, flush_interval=flush)
        self.options = options
        self._start_loop()

    def _start_loop(self) -> None:
        if os.environ.get("SCHOOLGATE_LANE_LOOP") == "uvloop":  # what `schoolgate dns` runs on
            import uvloop

            self.loop = uvloop.new_event_loop()
        else:
            self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start())

    async def _start(self) -> None:
        await self.upstream_server.start()
        servers = [("127.0.0.1", self.upstream_server.port)]
        if self.options.pop("silent_first", False):  # a dead upstream listed before the live one
            self.dead_server = LaneUpstream(silent=True)
            await self.dead_server.start()
            servers.insert(0, ("127.0.0.1", self.dead_server.port))
        names = ("timeout", "retries", "cache_entries")
        upstream_options = {k: self.options.pop(k) for k in names if k in self.options}
        self.upstream = Upstream(servers, **upstream_options)
        journal = self.journal if self.options.pop("journalling", True) else None
        self.resolver = Resolver(self.holder, self.upstream, journal=journal, **self.options)
        clock = self.clock
        if clock is not None:  # a decision cache asked without a moment reads this clock
            for handler in self.resolver.handlers:
                if isinstance(handler, Filtering):
                    handler.cache._clock = clock.wall
        self.server = DnsServer(self.resolver, None, fast_lane=self.fast_lane)
        assert self.server.fast_lane == self.fast_lane, "the C lane is not built: pip install -e ."
        bound = await self.server.start([("127.0.0.1", 0), ("::1", 0)])
        (_, self.port), (_, self.port6) = bound

    def counts(self) -> dict[str, int]:
        return dict(self.run(self.server.fast_lane_counts))

    def records(self, flush: bool = True) -> list[dict[str, Any]]:
        if flush:
            self.journal.flush(timeout=5)
        return list(read_events(self.journal.directory))


def _client_socket(gateway: LaneGateway, client: str) -> tuple[socket.socket, tuple[str, int]]:
    """A UDP socket bound to `client` (127.x or ::1) and the gateway's address to send to."""
    if ":" in client:
        sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        sock.bind((client, 0))
        return sock, ("::1", gateway.port6)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((client, 0))
    return sock, ("127.0.0.1", gateway.port)


def exchange(gateway: LaneGateway, packet: bytes, client: str, timeout: float) -> bytes | None:
    """Send `packet` from `client` and return the answer, None if silent."""
    sock, server = _client_socket(gateway, client)
    with sock:
        sock.settimeout(timeout)
        sock.sendto(packet, server)
        try:
            return sock.recv(65535)
        except TimeoutError:
            return None


def burst(
    gateways: list[LaneGateway], packets: list[bytes], client: str, quiet: float = 1.0
) -> list[list[bytes]]:
    """Send every packet at once to each gateway, from one socket per gateway (one or a few
    batches at each server); each one's answers in any order, once `quiet` seconds pass
    without one."""
    answers: list[list[bytes]] = [[] for _ in gateways]
    with contextlib.ExitStack() as stack:
        sockets = []
        for gateway in gateways:
            sock, server = _client_socket(gateway, client)
            stack.enter_context(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.settimeout(quiet)
            sockets.append(sock)
            for packet in packets:
                sock.sendto(packet, server)
        for sock, got in zip(sockets, answers, strict=True):
            while len(got) < len(packets):
                try:
                    got.append(sock.recv(65535))
                except TimeoutError:
                    break
    return answers


AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
"""The journal's time format (`DecisionEncoder`): UTC to the microsecond."""


def without_at(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "at"} for r in records]


class LanePair:
    """Two gateways on the same policy: `on` (fast lane) and `off` (the Python chain)."""

    def __init__(self, make: Any, tmp: Path, **options: Any) -> None:
        holders = options.pop("holders", (None, None))
        self.on = LaneGateway(make(), tmp / "journal-on", True, holder=holders[0], **options)
        try:
            self.off = LaneGateway(make(), tmp / "journal-off", False, holder=holders[1], **options)
        except BaseException:
            self.on.close()
            raise
        self.seen = 0
        self.took = (0.0, 0.0)
        """How long the last `ask` waited for each side's answer, in seconds."""

    def ask(self, packet: bytes, client: str = PUPIL, timeout: float = 3.0) -> bytes | None:
        """Both answers to `packet`, which must be the same bytes; returns it. Both are asked in
        the same wall-clock second, so answers from the upstream cache count TTLs down alike."""
        if timeout >= 1 and time.time() % 1 > 0.75:
            time.sleep(1.005 - time.time() % 1)
        started = time.monotonic()
        on = exchange(self.on, packet, client, timeout)
        middle = time.monotonic()
        off = exchange(self.off, packet, client, timeout)
        self.took = (middle - started, time.monotonic() - middle)
        assert on == off, mismatch(packet, on, off)
        return on

    def burst(
        self, packets: list[bytes], client: str = PUPIL, one_batch: bool = False
    ) -> list[bytes]:
        """The answers to `packets` sent all at once to both sides: the same, in any order.
        `one_batch`: the servers' loops are held while they are sent, so each reads them all
        in one go."""
        if time.time() % 1 > 0.5:  # both sides in one second: cached TTLs alike
            time.sleep(1.005 - time.time() % 1)
        if one_batch:
            self.hold()
        on, off = (sorted(got) for got in burst([self.on, self.off], packets, client))
        assert len(on) == len(off), missing(packets, on, off)
        for a, b in zip(on, off, strict=True):
            assert a == b, mismatch(b"(burst)", a, b)
        return on

    def hold(self, seconds: float = 0.3) -> None:
        """Keep both servers' event loops busy for `seconds`, from now."""
        for side in (self.on, self.off):
            side.loop.call_soon_threadsafe(time.sleep, seconds)
        time.sleep(0.05)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Both servers busy (their loops held) while the block runs."""
        self.hold(0.5)
        started = time.monotonic()
        yield
        assert time.monotonic() - started < 0.4, "the block outlasted the hold"

    def records(self) -> list[dict[str, Any]]:
        """The journal records written since the last call: the same on both sides, in the same
        order, all fields but `at`."""
        on, off = self.on.records(), self.off.records()
        assert all(AT.fullmatch(r["at"]) for r in on + off), "a time not in the journal's format"
        a, b = without_at(on), without_at(off)
        assert a == b, record_diff(a, b)
        new, self.seen = on[self.seen :], len(on)
        return new

    def close(self) -> None:
        self.on.close()
        self.off.close()


def missing(packets: list[bytes], on: list[bytes], off: list[bytes]) -> str:
    """Which of `packets` (told apart by ID) got an answer on one side only."""
    ids = [{answer[:2] for answer in side} for side in (on, off)]
    lines = [f"{len(on)} answers with the lane on, {len(off)} off"]
    for packet in packets:
        if (packet[:2] in ids[0]) != (packet[:2] in ids[1]):
            lines.append(f"answered {'on' if packet[:2] in ids[0] else 'off'} only: {packet.hex()}")
    return "\n".join(lines)


def mismatch(packet: bytes, on: bytes | None, off: bytes | None) -> str:
    def show(data: bytes | None) -> str:
        if data is None:
            return "(no answer)"
        try:
            text = dns.message.from_wire(data).to_text()
        except Exception as exc:  # show whatever the bytes are
            text = f"(unparsable: {exc})"
        return f"{data.hex()}\n{text}"

    return f"query {packet.hex()}\nlane on:  {show(on)}\nlane off: {show(off)}"


def record_diff(on: list[dict[str, Any]], off: list[dict[str, Any]]) -> str:
    """What differs, field by field, between records (without `at`) on and off."""
    lines = [f"{len(on)} records with the lane on, {len(off)} with it off"]
    for index, (a, b) in enumerate(zip(on, off, strict=False)):
        if a != b:
            keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
            lines += [f"record {index} {k}: on={a.get(k)!r} off={b.get(k)!r}" for k in keys]
    return "\n".join(lines[:40])
