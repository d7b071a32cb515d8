"""The filtering DNS resolver: asyncio UDP and TCP in front of the policy and the upstreams.

For each query: who is asking (`Identity`), what the policy decides for that name (cached per
subject and name until the minute changes or a new snapshot arrives), then one of

- blocked: the block page's address (A/AAAA; other types get an empty answer) or NXDOMAIN, as
  `filtering.block_response` says; known DNS-over-HTTPS endpoints are blocked for everyone and the
  `use-application-dns.net` canary answers NXDOMAIN so browsers keep using this resolver;
- allowed or warn (a DNS answer cannot show a warning; the proxy does) and a search engine name
  for a group with safe search: a CNAME to the safe-search host plus its addresses;
- otherwise: the upstream's answer, from the cache when fresh.

Every decision goes to the journal. Malformed packets are answered FORMERR/NOTIMP when the header
can be trusted and dropped otherwise; nothing one client sends can stop others being answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action, AlertLevel
from schoolgate.engine.urls import Target
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.decision_cache import DecisionCache
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.safesearch import Rewrite, SafeSearch
from schoolgate.gateway.dns.tcp_slots import TcpSlots
from schoolgate.gateway.dns.upstream import Upstream, UpstreamError
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.journal_events import DecisionEncoder, EventSink
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import BlockPage

log = logging.getLogger(__name__)

DOH_CANARY = "use-application-dns.net"
_DECISION_CACHE_LIMIT = 200_000
_TCP_IDLE_SECONDS = 10.0
_PORT_ATTEMPTS = 20
_UDP_BATCH = 64
"""Datagrams read per wake-up: their events are written together, then their answers sent."""
_UDP_MAX = 65535


def load_doh_domains(paths: Iterable[Path]) -> frozenset[str]:
    """Plain lists of DoH host names (`#` comments allowed), e.g. shared/data/doh-servers."""
    names: set[str] = set()
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            name = line.split("#", 1)[0].strip().lower().rstrip(".")
            if name:
                names.add(name)
    return frozenset(names)


class Resolver:
    """The transport-independent core: a query packet in, an answer packet (or None) out."""

    def __init__(
        self,
        holder: SnapshotHolder,
        upstream: Upstream,
        *,
        identity: Identity | None = None,
        journal: EventSink | None = None,
        block_page: BlockPage | None = None,
        block_ttl: int = 60,
        safe_search: SafeSearch | None = None,
        doh_domains: frozenset[str] = frozenset(),
        journal_allowed: bool = True,
        agreements: AgreementCheck | None = None,
    ) -> None:
        self.holder = holder
        self.agreements = agreements
        """Whether each subject's agreement is complete (`gateway/agreement_check.py`)."""
        self.upstream = upstream
        self.identity = identity or Identity()
        self.journal = journal
        self.block_page = block_page or BlockPage()
        self.block_ttl = block_ttl
        self.safe_search = safe_search or SafeSearch()
        self.doh_domains = doh_domains
        self.journal_allowed = journal_allowed
        self.stats = {"queries": 0, "blocked": 0, "rewritten": 0, "forwarded": 0, "errors": 0}
        self._decisions = DecisionCache(_DECISION_CACHE_LIMIT)
        self._encoder = DecisionEncoder("dns")
        self._policy_state(holder.decider)
        holder.on_reload(lambda snapshot, decider: self._policy_state(decider))

    def _policy_state(self, decider: Decider) -> None:
        policy = decider.policy
        self._decider = decider
        self._nxdomain_blocks = policy.filtering.block_response == "nxdomain"
        self._safe_groups = self.safe_search.groups_for(policy)
        self._youtube = policy.safe_search.youtube
        self._circumvention_alert = policy.filtering.circumvention_alert
        self.identity.set_nominated_users(policy.nominated_users)
        self._decisions.clear()

    # The request path ---------------------------------------------------------------------------

    def hand_over(self) -> None:
        """Give the journal's waiting events to the OS; transports call it before they answer."""
        if self.journal is not None:
            self.journal.hand_over()

    def handle(self, data: bytes, client: str) -> bytes | Coroutine[Any, Any, bytes | None] | None:
        """An answer now, None to stay silent, or a coroutine when the upstream must be asked."""
        try:
            query = wire.parse_query(data)
        except wire.WireError as exc:
            self.stats["errors"] += 1
            return wire.header_only_error(data, exc.rcode) if exc.rcode is not None else None
        self.stats["queries"] += 1
        name = query.name
        if name == DOH_CANARY:
            return wire.response(query, wire.NXDOMAIN)
        if not name:
            return self._forward(query)
        subject = self.identity.identify(client)
        if self.agreements is not None:
            subject = self.agreements.apply(subject, client, self._decider)
        decision = self._decide(subject, name)
        if decision.action is Action.BLOCK:
            self.stats["blocked"] += 1
            self._journal(client, subject, query, decision, None)
            return self._blocked(query)
        rewrite = None
        if decision.group in self._safe_groups:
            rewrite = self.safe_search.rewrite(name, self._youtube)
        if self.journal_allowed or decision.action is not Action.ALLOW:
            self._journal(client, subject, query, decision, rewrite)
        if rewrite is not None:
            self.stats["rewritten"] += 1
            return self._rewritten(query, rewrite)
        return self._forward(query)

    def _decide(self, subject: Subject, name: str) -> Decision:
        return self._decisions.lookup(
            self._decider, (subject, name), lambda: self._fresh_decision(subject, name)
        )

    def _fresh_decision(self, subject: Subject, name: str) -> Decision:
        target = Target(host=name)
        decision = self._decider.decide(subject, target)
        if decision.action is not Action.BLOCK and self._is_doh(target):
            decision = decision.replace(
                action=Action.BLOCK,
                categories=tuple(sorted({*decision.categories, "doh"})),
                rule="doh-endpoint",
                reason="DNS over HTTPS would bypass the school's filtering.",
                alert=AlertLevel.highest(decision.alert, self._circumvention_alert),
            )
        return decision

    def _is_doh(self, target: Target) -> bool:
        """The name or a parent of it, short of the top-level domain, is a DoH endpoint."""
        return bool(self.doh_domains) and not self.doh_domains.isdisjoint(target.suffixes()[:-1])

    def _blocked(self, query: wire.Query) -> bytes:
        if self._nxdomain_blocks:
            return wire.response(query, wire.NXDOMAIN, authoritative=True)
        address = None
        if query.qtype == wire.A and self.block_page.ipv4 is not None:
            address = self.block_page.ipv4.packed
        elif query.qtype == wire.AAAA and self.block_page.ipv6 is not None:
            address = self.block_page.ipv6.packed
        if address is None:  # other types: an empty answer, so nothing leaks past the filter
            return wire.response(query, wire.NOERROR, authoritative=True)
        record = wire.record_to_qname(query.qtype, self.block_ttl, address)
        return wire.response(query, wire.NOERROR, record, 1, authoritative=True)

    def _forward(self, query: wire.Query) -> bytes | Coroutine[Any, Any, bytes | None]:
        cached = self.upstream.cached(query, time.time())
        if cached is not None:
            return cached
        self.stats["forwarded"] += 1
        return self._forward_async(query)

    async def _forward_async(self, query: wire.Query) -> bytes | None:
        try:
            return await self.upstream.resolve(query)
        except UpstreamError as exc:
            log.warning("%s", exc)
            return wire.response(query, wire.SERVFAIL)

    def _rewritten(
        self, query: wire.Query, rewrite: Rewrite
    ) -> bytes | Coroutine[Any, Any, bytes | None]:
        if rewrite.kind == "A":
            if query.qtype != wire.A:
                return wire.response(query, wire.NOERROR)
            record = wire.record_to_qname(wire.A, 300, _ipv4(rewrite.value))
            return wire.response(query, wire.NOERROR, record, 1)
        return self._cname_answer(query, rewrite.value)

    def _cname_answer(
        self, query: wire.Query, target: str
    ) -> bytes | Coroutine[Any, Any, bytes | None]:
        target_wire = wire.encode_name(target)
        cname = wire.record_to_qname(wire.CNAME, 300, target_wire)
        if query.qtype not in (wire.A, wire.AAAA):
            return wire.response(query, wire.NOERROR, cname, 1)
        inner = _make_query(target_wire, query.qtype)
        cached = self.upstream.cached(inner, time.time())
        if cached is not None:
            return self._cname_then(query, target, cname, cached)
        return self._cname_answer_async(query, target, cname, inner)

    async def _cname_answer_async(
        self, query: wire.Query, target: str, cname: bytes, inner: wire.Query
    ) -> bytes:
        try:
            answer = await self.upstream.resolve(inner)
        except UpstreamError as exc:
            log.warning("safe-search host %s: %s", target, exc)
            return wire.response(query, wire.SERVFAIL)
        return self._cname_then(query, target, cname, answer)

    def _cname_then(self, query: wire.Query, target: str, cname: bytes, answer: bytes) -> bytes:
        """The CNAME to `target`, then the addresses in the upstream's `answer` for it."""
        try:
            _, rcode, records = wire.parse_records(answer)
        except wire.WireError as exc:
            log.warning("safe-search host %s: %s", target, exc)
            return wire.response(query, wire.SERVFAIL)
        extra = [
            wire.record(r.owner, r.rtype, r.rclass, r.ttl, r.rdata)
            for r in records
            if r.section == 0 and r.rtype in (wire.A, wire.AAAA, wire.CNAME)
        ]
        return wire.response(query, rcode, cname + b"".join(extra), 1 + len(extra))

    def _journal(
        self,
        client: str,
        subject: Subject,
        query: wire.Query,
        decision: Decision,
        rewrite: Rewrite | None,
    ) -> None:
        if self.journal is None:
            return
        self.journal.append_payload(
            self._encoder.encode(
                decision,
                address=client,
                user=subject.user,
                target=query.name,
                qtype=query.qtype,
                safe_search=None if rewrite is None else rewrite.value,
            )
        )


def _ipv4(text: str) -> bytes:
    import ipaddress

    return ipaddress.IPv4Address(text).packed


def _make_query(name_wire: bytes, qtype: int) -> wire.Query:
    question = name_wire + wire.QUESTION_FIXED.pack(qtype, wire.CLASS_IN)
    raw = wire.HEADER.pack(0, wire.RD, 1, 0, 0, 0) + question
    return wire.Query(0, wire.RD, wire.name_text(name_wire), qtype, 1, question, None, False, raw)


# Transports -----------------------------------------------------------------------------------


class _UdpServer:
    """Reads every waiting datagram in one go, hands the batch's events to the journal with one
    `write()`, then sends the answers: an answer never leaves before its event is in the OS."""

    def __init__(self, resolver: Resolver, sock: socket.socket) -> None:
        self.resolver = resolver
        self.sock = sock
        self.pending: set[asyncio.Future[None]] = set()
        self._loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self._loop.add_reader(sock.fileno(), self._readable)

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()

    def _readable(self) -> None:
        answers: list[tuple[bytes, bytes, Any]] = []
        recvfrom = self.sock.recvfrom
        handle = self.resolver.handle
        for _ in range(_UDP_BATCH):
            try:
                data, addr = recvfrom(_UDP_MAX)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. an ICMP error queued on the socket: skip it
                continue
            try:
                result = handle(data, addr[0])
            except Exception:  # one bad packet must never stop the server
                log.exception("DNS query from %s failed", addr[0])
                continue
            if result is None:
                continue
            if isinstance(result, bytes):
                answers.append((result, data, addr))
            else:
                task = self._loop.create_task(self._later(result, data, addr))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
        self.resolver.hand_over()
        for answer, data, addr in answers:
            self._send(answer, data, addr)

    async def _later(self, pending: Coroutine[Any, Any, bytes | None], data: bytes, addr) -> None:
        try:
            answer = await pending
        except Exception:
            log.exception("DNS query from %s failed", addr[0])
            return
        if answer is not None:
            self.resolver.hand_over()
            self._send(answer, data, addr)

    def _send(self, answer: bytes, data: bytes, addr: tuple) -> None:
        if len(answer) > 512:  # only answers to queries that parsed are this long
            query = wire.parse_query(data)
            if len(answer) > query.max_udp:
                answer = wire.truncated(query)
        with contextlib.suppress(OSError):  # a full send buffer: UDP clients ask again
            self.sock.sendto(answer, addr)


def _udp_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock


class DnsServer:
    """Binds the resolver to UDP and TCP on each listen address."""

    def __init__(self, resolver: Resolver, tcp_slots: TcpSlots | None = None) -> None:
        self.resolver = resolver
        self.udp: list[_UdpServer] = []
        self.tcp: list[asyncio.Server] = []
        self.tcp_slots = tcp_slots or TcpSlots()

    async def start(self, listen: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Returns the bound (address, port) pairs; port 0 picks a free port (same for TCP)."""
        bound = []
        for host, port in listen:
            for attempt in range(_PORT_ATTEMPTS if port == 0 else 1):
                sock = _udp_socket(host, port)
                actual = sock.getsockname()[1]
                try:
                    tcp = await asyncio.start_server(self._tcp_client, host, actual)
                except OSError:
                    # Port 0 chose a free UDP port whose TCP twin is taken: try another.
                    sock.close()
                    if attempt == _PORT_ATTEMPTS - 1 or port != 0:
                        raise
                    continue
                break
            self.udp.append(_UdpServer(self.resolver, sock))
            self.tcp.append(tcp)
            bound.append((host, actual))
        return bound

    async def close(self) -> None:
        for udp in self.udp:
            udp.close()
        for server in self.tcp:
            server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 1)
        self.resolver.upstream.close()

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = writer.get_extra_info("peername")[0]
        if not self.tcp_slots.admit(client, writer):
            writer.close()
            return
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(2), _TCP_IDLE_SECONDS)
                data = await asyncio.wait_for(
                    reader.readexactly(int.from_bytes(header, "big")), _TCP_IDLE_SECONDS
                )
                answer = self.resolver.handle(data, client)
                if answer is not None and not isinstance(answer, bytes):
                    answer = await answer
                if answer is None:
                    break  # a packet we drop ends the connection
                self.resolver.hand_over()
                writer.write(len(answer).to_bytes(2, "big") + answer)
                await writer.drain()
                self.tcp_slots.touch(writer)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception:
            log.exception("DNS over TCP from %s failed", client)
        finally:
            self.tcp_slots.release(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
