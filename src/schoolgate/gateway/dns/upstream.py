"""Forwarding allowed queries to the upstream resolvers, with a TTL-honouring bounded cache.

Each attempt waits `timeout` seconds; after a failure the next attempt goes to the next upstream,
`retries` times, and the upstream that failed is passed over for `REST_SECONDS` while another
answers (so a dead first upstream costs one timeout, not one per query). A truncated UDP answer
is fetched again over TCP. Identical queries in flight are sent once. Answers are cached for the
smallest TTL among their records (negative answers for the SOA's negative TTL, RFC 2308), at most
`max_ttl`; served from the cache, the TTLs count down.
SERVFAIL and answers without any TTL to honour are not cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from schoolgate.gateway.dns.wire import (
    NOERROR,
    NXDOMAIN,
    OPT,
    QR,
    SOA,
    TC,
    Query,
    WireError,
    parse_records,
    skip_name,
)

_TTL = struct.Struct(">I")
_UDP_MAX = 65535
REST_SECONDS = 30.0
"""How long an upstream that let a query time out is passed over (unless all are)."""
_UPSTREAM_BATCH = 64
"""Answers read per wake-up of the upstream socket."""

log = logging.getLogger(__name__)


class UpstreamError(RuntimeError):
    """No upstream answered in time."""


@dataclass(slots=True)
class CacheEntry:
    response: bytes
    """The upstream's answer; its ID and question are replaced for each client."""
    question_end: int
    ttl_offsets: list[tuple[int, int]]
    stored: float
    expires: float
    patched_second: int = -1
    patched: bytes = b""

    def render(self, query: Query, now: float) -> bytes:
        second = int(now)
        if second != self.patched_second:
            elapsed = second - int(self.stored)
            data = bytearray(self.response)
            for offset, ttl in self.ttl_offsets:
                _TTL.pack_into(data, offset, max(ttl - elapsed, 0))
            self.patched, self.patched_second = bytes(data), second
        body = self.patched
        return query.raw[:2] + body[2:12] + query.question + body[self.question_end :]


class AnswerCache:
    """Answers are kept as they came and parsed for their TTLs when first asked for again: most
    names are asked once, so most answers are never parsed."""

    def __init__(self, max_entries: int, max_ttl: int) -> None:
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.entries: OrderedDict[tuple, CacheEntry | tuple[bytes, float]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, now: float) -> CacheEntry | None:
        entry = self.entries.get(key)
        if type(entry) is tuple:  # kept unparsed: parse it now, as of when it was stored
            entry = self._parsed(key, *entry)
        if entry is None or entry.expires <= now:
            if entry is not None:
                del self.entries[key]
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry

    def _parsed(self, key: tuple, response: bytes, stored: float) -> CacheEntry | None:
        try:
            entry = _entry(response, stored, self.max_ttl)
        except WireError:
            entry = None
        if entry is None:
            del self.entries[key]  # nothing to honour a TTL by: not cached
        else:
            self.entries[key] = entry
        return entry

    def put(self, key: tuple, response: bytes, now: float) -> None:
        if self.max_entries <= 0 or len(response) < 12:
            return
        if response[2] & (TC >> 8) or response[3] & 0xF not in (NOERROR, NXDOMAIN):
            return  # truncated, SERVFAIL, REFUSED...: never cached
        self.entries[key] = (response, now)
        self.entries.move_to_end(key)
        while len(self.entries) > self.max_entries:
            self.entries.popitem(last=False)


def _entry(response: bytes, now: float, max_ttl: int) -> CacheEntry | None:
    flags, rcode, records = parse_records(response)
    if flags & TC or rcode not in (NOERROR, NXDOMAIN):
        return None
    ttl_offsets = [(r.ttl_offset, r.ttl) for r in records if r.rtype != OPT]
    answers = [r for r in records if r.section == 0]
    if answers and rcode == NOERROR:
        ttl = min(r.ttl for r in answers)
    else:
        soa = [r for r in records if r.section == 1 and r.rtype == SOA]
        if not soa or len(soa[0].rdata) < 4:
            return None
        ttl = min(soa[0].ttl, _TTL.unpack_from(soa[0].rdata, len(soa[0].rdata) - 4)[0])
    ttl = min(ttl, max_ttl)
    if ttl <= 0:
        return None
    question_end = skip_name(response, 12) + 4
    return CacheEntry(response, question_end, ttl_offsets, now, now + ttl)


def cache_key(query: Query) -> tuple:
    return (query.name, query.qtype, query.qclass, query.edns_size is not None, query.dnssec_ok)


Done = Callable[[bytes | None], None]
"""Called once with the upstream's answer (client's ID and question patched in), or None."""


@dataclass(slots=True)
class _Asked:
    """One query sent to one upstream, waiting for its answer or its deadline."""

    key: tuple
    query: Query
    attempt: int
    index: int = 0
    """Which upstream it went to."""
    qid: int = 0
    """The ID it was sent with."""
    answered: bool = False


def connected_udp_socket(address: tuple[str, int]) -> socket.socket:
    """A non-blocking UDP socket connected to one upstream (IPv4 or IPv6)."""
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.connect(address)
    return sock


class _UdpSocket:
    """One connected, non-blocking UDP socket to one upstream, read when readable: answers are
    matched to the queries waiting for them by ID, with no future or task per query."""

    def __init__(self, upstream: Upstream, address: tuple[str, int]) -> None:
        self.sock = connected_udp_socket(address)
        self.waiting: dict[int, _Asked] = {}
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.sock.fileno(), self._readable, upstream)

    def send(self, asked: _Asked) -> None:
        qid = random.getrandbits(16)
        while qid in self.waiting:
            qid = random.getrandbits(16)
        asked.qid = qid
        self.sock.send(qid.to_bytes(2, "big") + asked.query.raw[2:])
        self.waiting[qid] = asked

    def _readable(self, upstream: Upstream) -> None:
        recv = self.sock.recv
        for _ in range(_UPSTREAM_BATCH):
            try:
                data = recv(_UDP_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP port unreachable: the attempt times out, the next is tried
                continue
            if len(data) < 12 or not data[2] & (QR >> 8):
                continue
            asked = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
            if asked is not None:
                upstream._answered(asked, data)

    def close(self) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()


class Upstream:
    def __init__(
        self,
        servers: list[tuple[str, int]],
        *,
        timeout: float = 2.0,
        retries: int = 2,
        cache_entries: int = 50_000,
        max_ttl: int = 86_400,
    ) -> None:
        if not servers:
            raise ValueError("at least one upstream resolver is needed")
        self.servers = servers
        self.timeout = timeout
        self.retries = retries
        self.cache = AnswerCache(cache_entries, max_ttl)
        self._sockets: list[_UdpSocket | None] = [None] * len(servers)
        self._waiters: dict[tuple, list[tuple[Query, Done]]] = {}
        """Queries in flight (one per key: identical queries are sent once) and who waits."""
        self._deadlines: deque[tuple[float, _Asked]] = deque()
        """Queries sent, in the order sent (so in deadline order)."""
        self._sweeper: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next = 0
        self._resting_until = [0.0] * len(servers)
        """Per upstream: until when (monotonic) it is passed over after it did not answer."""
        self.failures = 0

    @property
    def in_flight(self) -> dict[tuple, list[tuple[Query, Done]]]:
        """Queries sent and not yet answered, by `cache_key` (the fast lane leaves these to
        `ask`, which sends identical queries once)."""
        return self._waiters

    @property
    def preferred(self) -> int:
        """The index of the upstream the next query goes to first."""
        return self._pick(0)

    def _pick(self, attempt: int) -> int:
        """The upstream for an attempt: the next in turn, passing over any that did not answer
        in the last `REST_SECONDS` (unless none did): with [dead, live], only one query a rest
        period waits on the dead one, not every other query."""
        count, now = len(self.servers), time.monotonic()
        first = (self._next + attempt) % count
        for step in range(count):
            index = (first + step) % count
            if self._resting_until[index] <= now:
                return index
        return first

    def did_not_answer(self, index: int) -> None:
        """Upstream `index` let a query time out: pass it over for a while."""
        self._resting_until[index] = time.monotonic() + REST_SECONDS

    def cached(self, query: Query, now: float) -> bytes | None:
        entry = self.cache.get(cache_key(query), now)
        return entry.render(query, now) if entry is not None else None

    def ask(self, query: Query, done: Done, *, attempt: int = 0, over_tcp: bool = False) -> None:
        """Send `query` upstream (unless the same one is in flight) and call `done` with the
        answer, or with None when no upstream answered after the retries.

        The DNS fast lane (`fastlane.py`) sends a query's first attempt itself and hands it
        here when that fails: `attempt=1` (no answer in time, or one to another question: the
        retries left, on the next upstream), or `over_tcp=True` (the answer was truncated)."""
        key = cache_key(query)
        waiters = self._waiters.get(key)
        if waiters is not None:
            waiters.append((query, done))
            return
        self._waiters[key] = [(query, done)]
        asked = _Asked(key, query, attempt)
        if over_tcp:
            self._fetch_over_tcp(asked, self._pick(attempt))
        elif attempt > self.retries:
            self._retry(asked)
        else:
            self._send(asked)

    async def resolve(self, query: Query) -> bytes:
        """The upstream's answer, with the client's ID and question; UpstreamError if none."""
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()

        def done(answer: bytes | None) -> None:
            if not future.done():
                future.set_result(answer)

        self.ask(query, done)
        answer = await future
        if answer is None:
            raise UpstreamError(f"no upstream answered {query.name!r}")
        return answer

    def _send(self, asked: _Asked) -> None:
        asked.index = self._pick(asked.attempt)
        try:
            self._socket(asked.index).send(asked)
        except OSError as exc:  # retried after the caller's batch is done, never inside it
            log.warning("%s: %r", self.servers[asked.index], exc)
            asyncio.get_running_loop().call_soon(self._retry, asked)
            return
        self._deadlines.append((time.monotonic() + self.timeout, asked))
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(self.timeout / 4, self._sweep)

    def _socket(self, index: int) -> _UdpSocket:
        sock = self._sockets[index]
        if sock is None:
            sock = self._sockets[index] = _UdpSocket(self, self.servers[index])
        return sock

    def _sweep(self) -> None:
        """Retry (on the next upstream) or give up on queries past their deadline."""
        self._sweeper = None
        now = time.monotonic()
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            _, asked = deadlines.popleft()
            if asked.answered:
                continue
            sock = self._sockets[asked.index]
            if sock is not None and sock.waiting.get(asked.qid) is asked:
                del sock.waiting[asked.qid]
            self.did_not_answer(asked.index)
            self._retry(asked)
        if deadlines:
            self._sweeper = asyncio.get_running_loop().call_later(self.timeout / 4, self._sweep)

    def _retry(self, asked: _Asked) -> None:
        if asked.attempt < self.retries:
            self._send(_Asked(asked.key, asked.query, asked.attempt + 1))
            return
        self.failures += 1
        log.warning("no upstream answered %r", asked.query.name)
        self._finish(asked.key, None)

    def _answered(self, asked: _Asked, answer: bytes) -> None:
        asked.answered = True  # the sweep skips it
        index = asked.index
        try:
            self._check_question(answer, asked.query)
        except UpstreamError as exc:
            log.warning("%s: %s", self.servers[index], exc)
            self._retry(asked)
            return
        if answer[2] & (TC >> 8):  # truncated: fetch it again over TCP
            self._fetch_over_tcp(asked, index)
            return
        self._next = (index + 1) % len(self.servers)
        self._resting_until[index] = 0.0
        self.cache.put(asked.key, answer, time.time())
        self._finish(asked.key, answer)

    def _fetch_over_tcp(self, asked: _Asked, index: int) -> None:
        task = asyncio.get_running_loop().create_task(self._over_tcp(asked, index))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _over_tcp(self, asked: _Asked, index: int) -> None:
        try:
            answer = await self._ask_tcp(index, asked.query)
        except (TimeoutError, OSError, UpstreamError, asyncio.IncompleteReadError) as exc:
            log.warning("%s over TCP: %r", self.servers[index], exc)
            self._retry(asked)
            return
        self.cache.put(asked.key, answer, time.time())
        self._finish(asked.key, answer)

    def _finish(self, key: tuple, answer: bytes | None) -> None:
        waiters = self._waiters.pop(key, ())
        if answer is None:
            for _, done in waiters:
                done(None)
            return
        end = skip_name(answer, 12) + 4
        header, rest = answer[2:12], answer[end:]
        for query, done in waiters:
            done(query.raw[:2] + header + query.question + rest)

    async def _ask_tcp(self, index: int, query: Query) -> bytes:
        host, port = self.servers[index]
        qid = random.getrandbits(16)
        message = qid.to_bytes(2, "big") + query.raw[2:]

        async def exchange() -> bytes:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(len(message).to_bytes(2, "big") + message)
                await writer.drain()
                length = int.from_bytes(await reader.readexactly(2), "big")
                return await reader.readexactly(length)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()

        answer = await asyncio.wait_for(exchange(), self.timeout)
        if int.from_bytes(answer[:2], "big") != qid:
            raise UpstreamError("TCP answer with the wrong ID")
        self._check_question(answer, query)
        return answer

    @staticmethod
    def _check_question(answer: bytes, query: Query) -> None:
        try:
            end = skip_name(answer, 12) + 4
        except WireError as exc:
            raise UpstreamError(f"malformed upstream answer: {exc}") from None
        if answer[12:end].lower() != query.question.lower():
            raise UpstreamError("upstream answered a different question")

    def close(self) -> None:
        for sock in self._sockets:
            if sock is not None:
                sock.close()
        self._sockets = [None] * len(self.servers)
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
