"""Forwarding allowed queries to the upstream resolvers, with a TTL-honouring bounded cache.

Each attempt waits `timeout` seconds; after a failure the next attempt goes to the next upstream,
`retries` times. A truncated UDP answer is fetched again over TCP. Identical queries in flight are
sent once. Answers are cached for the smallest TTL among their records (negative answers for the
SOA's negative TTL, RFC 2308), at most `max_ttl`; served from the cache, the TTLs count down.
SERVFAIL and answers without any TTL to honour are not cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import struct
import time
from collections import OrderedDict
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
    def __init__(self, max_entries: int, max_ttl: int) -> None:
        self.max_entries = max_entries
        self.max_ttl = max_ttl
        self.entries: OrderedDict[tuple, CacheEntry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, now: float) -> CacheEntry | None:
        entry = self.entries.get(key)
        if entry is None or entry.expires <= now:
            if entry is not None:
                del self.entries[key]
            self.misses += 1
            return None
        self.entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(self, key: tuple, response: bytes, now: float) -> None:
        if self.max_entries <= 0:
            return
        try:
            entry = _entry(response, now, self.max_ttl)
        except WireError:
            return
        if entry is None:
            return
        self.entries[key] = entry
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


class _UdpClient(asyncio.DatagramProtocol):
    """One socket to one upstream; replies are matched to waiting queries by ID."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[int, asyncio.Future[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        if len(data) < 12 or not data[2] & (QR >> 8):
            return
        future = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        pass  # e.g. ICMP port unreachable; the attempt times out and the next upstream is tried

    def connection_lost(self, exc: Exception | None) -> None:
        for future in self.waiting.values():
            if not future.done():
                future.set_exception(UpstreamError("upstream socket closed"))
        self.waiting.clear()


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
        self._clients: list[_UdpClient | None] = [None] * len(servers)
        self._inflight: dict[tuple, asyncio.Future[bytes]] = {}
        self._next = 0
        self.failures = 0

    def cached(self, query: Query, now: float) -> bytes | None:
        entry = self.cache.get(cache_key(query), now)
        return entry.render(query, now) if entry is not None else None

    async def resolve(self, query: Query) -> bytes:
        """The upstream's answer, with the client's ID and question; UpstreamError if none."""
        key = cache_key(query)
        shared = self._inflight.get(key)
        if shared is None:
            shared = asyncio.ensure_future(self._fetch(query, key))
            self._inflight[key] = shared
            shared.add_done_callback(lambda _: self._inflight.pop(key, None))
        answer = await asyncio.shield(shared)
        return query.raw[:2] + answer[2:12] + query.question + answer[skip_name(answer, 12) + 4 :]

    async def _fetch(self, query: Query, key: tuple) -> bytes:
        last_error = "no attempt made"
        for attempt in range(self.retries + 1):
            index = (self._next + attempt) % len(self.servers)
            try:
                answer = await self._ask_udp(index, query)
                if answer[2] & (TC >> 8):
                    answer = await self._ask_tcp(index, query)
            except (TimeoutError, OSError, UpstreamError, asyncio.IncompleteReadError) as exc:
                last_error = f"{self.servers[index]}: {exc!r}"
                continue
            self._next = (index + 1) % len(self.servers)
            self.cache.put(key, answer, time.time())
            return answer
        self.failures += 1
        raise UpstreamError(f"no upstream answered {query.name!r}: {last_error}")

    async def _client(self, index: int) -> _UdpClient:
        client = self._clients[index]
        if client is None or client.transport is None or client.transport.is_closing():
            loop = asyncio.get_running_loop()
            _, client = await loop.create_datagram_endpoint(
                _UdpClient, remote_addr=self.servers[index]
            )
            self._clients[index] = client
        return client

    async def _ask_udp(self, index: int, query: Query) -> bytes:
        client = await self._client(index)
        qid = random.getrandbits(16)
        while qid in client.waiting:
            qid = random.getrandbits(16)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        client.waiting[qid] = future
        client.transport.sendto(qid.to_bytes(2, "big") + query.raw[2:])
        try:
            answer = await asyncio.wait_for(future, self.timeout)
        finally:
            client.waiting.pop(qid, None)
        self._check_question(answer, query)
        return answer

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
        for client in self._clients:
            if client is not None and client.transport is not None:
                client.transport.close()
        self._clients = [None] * len(self.servers)
