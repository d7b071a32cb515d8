"""The filtering DNS resolver's transports: asyncio UDP and TCP in front of `Resolver`.

What is decided and answered is the handler chain's business (`resolver.py`, `chain.py`: who is
asking, the policy's decision, the journal, blocking, safe search, the upstream). Here: UDP
datagrams are read in batches, the batch's journal events are handed to the OS with one write,
then the answers are sent and the allowed names forwarded to the upstream, whose answers are
relayed as they arrive (issue 8: nothing answered is lost); TCP answers the same way, one
query at a time per connection. Nothing one client sends can stop others being answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

from schoolgate.gateway.dns import fastlane, wire
from schoolgate.gateway.dns.canary import DOH_CANARY
from schoolgate.gateway.dns.filtering import load_doh_domains
from schoolgate.gateway.dns.resolver import Resolver
from schoolgate.gateway.dns.tcp_slots import TcpSlots

__all__ = ["DOH_CANARY", "DnsServer", "Resolver", "load_doh_domains"]

log = logging.getLogger(__name__)

_TCP_IDLE_SECONDS = 10.0
_PORT_ATTEMPTS = 20
_UDP_BATCH = 64
"""Datagrams read per wake-up: their events are written together, then their answers sent."""
_UDP_MAX = 65535


# Transports -----------------------------------------------------------------------------------


class _UdpServer:
    """Reads every waiting datagram in one go, hands the batch's events to the journal with one
    `write()`, then sends the answers: an answer never leaves before its event is in the OS.
    With the fast lane (`fastlane.py`), C reads the batch and answers the plain queries; the
    rest come here as they would have."""

    def __init__(self, resolver: Resolver, sock: socket.socket, fast_lane: bool) -> None:
        self.resolver = resolver
        self.sock = sock
        self.pending: set[asyncio.Future[None]] = set()
        self._loop = asyncio.get_running_loop()
        sock.setblocking(False)
        self.lane = fastlane.FastLane(resolver, sock, self._send) if fast_lane else None
        self._loop.add_reader(sock.fileno(), self._readable if self.lane is None else self._lane)

    def close(self) -> None:
        self._loop.remove_reader(self.sock.fileno())
        if self.lane is not None:
            self.lane.close()
        self.sock.close()

    def _readable(self) -> None:
        moment = datetime.now(UTC)  # the clock, read once per batch
        batch = []
        recvfrom = self.sock.recvfrom
        for _ in range(_UDP_BATCH):
            try:
                batch.append((*recvfrom(_UDP_MAX), None, 0))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # e.g. an ICMP error queued on the socket: skip it
                continue
        self._answer(batch, moment)

    def _lane(self) -> None:
        moment = datetime.now(UTC)
        lane = self.lane
        try:
            punted, records, count = lane.take(moment)
        except Exception:
            log.exception("DNS fast lane failed; its batch's queued answers still go out")
            lane.send()
            return
        self._answer(punted, moment, records, count)

    def _answer(
        self,
        batch: list[tuple[bytes, Any, Any, int]],
        moment: datetime,
        records: bytearray | None = None,
        count: int = 0,
    ) -> None:
        """The chain's replies to `batch` ((packet, address, what the lane may learn, where in
        the lane's `records` its record goes)); the journal's hand-over; then the lane's
        answers, then the chain's. The chain's records are put among the lane's `count`
        `records` where their queries came, so the journal is what the chain alone writes."""
        answers: list[tuple[bytes, bytes, Any]] = []
        forwards: list[tuple[wire.Query, bytes, Any]] = []
        handle = self.resolver.handle
        journalling = self.resolver.journalling if records is not None else None
        merged, done = bytearray(), 0
        for data, addr, hint, offset in batch:
            if journalling is not None:
                merged += records[done:offset]
                done = offset
            try:
                reply = handle(data, addr[0], moment)
                if hint is not None:
                    self.lane.learn(data, hint, moment)
            except Exception:  # one bad packet must never stop the server
                log.exception("DNS query from %s failed", addr[0])
                continue
            finally:
                if journalling is not None:
                    count += journalling.take_records(merged)
            if reply.packet is not None:
                answers.append((reply.packet, data, addr))
            elif reply.forward is not None:
                forwards.append((reply.forward, data, addr))
            elif reply.later is not None:
                task = self._loop.create_task(self._later(reply.later, data, addr))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
        if journalling is not None and count:
            if batch:
                merged += records[done:]
            self.resolver.journal.append_records(merged if batch else records, count)
        self.resolver.hand_over()
        if self.lane is not None:
            self.lane.send()
        for answer, data, addr in answers:
            self._send(answer, data, addr)
        forward = self.resolver.forward
        for query, data, addr in forwards:
            forward(query, functools.partial(self._send, data=data, addr=addr))

    async def _later(self, pending: Coroutine[Any, Any, bytes | None], data: bytes, addr) -> None:
        try:
            answer = await pending
        except Exception:
            log.exception("DNS query from %s failed", addr[0])
            return
        if answer is not None:
            self.resolver.hand_over()
            self._send(answer, data, addr)

    def _send(self, answer: bytes, data: bytes, addr: Any) -> None:
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

    def __init__(
        self, resolver: Resolver, tcp_slots: TcpSlots | None = None, *, fast_lane: bool = True
    ) -> None:
        """`fast_lane`: answer plain UDP queries in C (`fastlane.py`) when it is built and
        `SCHOOLGATE_DNS_FAST_LANE` is not 0."""
        self.resolver = resolver
        self.fast_lane = fast_lane and fastlane.available()
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
            self.udp.append(_UdpServer(self.resolver, sock, self.fast_lane))
            self.tcp.append(tcp)
            bound.append((host, actual))
        return bound

    def fast_lane_counts(self) -> dict[str, int]:
        """Queries the fast lane answered or forwarded ("fast") and handed to the chain
        ("punted"), over every UDP socket; both 0 without the lane."""
        fast = punted = 0
        for udp in self.udp:
            if udp.lane is not None:
                done, handed = udp.lane.counts()
                fast, punted = fast + done, punted + handed
        return {"fast": fast, "punted": punted}

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
                reply = self.resolver.handle(data, client)
                answer = await self.resolver.complete(reply)
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
