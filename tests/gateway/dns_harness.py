"""A real local upstream DNS server and a resolver running in a background event loop."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.dns.server import DnsServer, Resolver
from schoolgate.gateway.dns.upstream import Upstream
from schoolgate.gateway.reload import SnapshotHolder

ZONE: dict[str, dict[str, list[str]]] = {
    "allowed.example.": {"A": ["192.0.2.10"], "AAAA": ["2001:db8::10"]},
    "www.example.org.": {"A": ["192.0.2.11"]},
    "forcesafesearch.google.com.": {"A": ["216.239.38.120"], "AAAA": ["2001:4860:4802:32::78"]},
    "strict.bing.com.": {"A": ["204.79.197.220"]},
    "restrict.youtube.com.": {"A": ["216.239.38.120"]},
    "restrictmoderate.youtube.com.": {"A": ["216.239.38.119"]},
    "big.example.": {"TXT": [f'"{"x" * 200} {i}"' for i in range(10)]},
    "www.google.com.": {"A": ["142.250.0.1"]},
}


@dataclass
class LocalUpstream:
    """Answers from `ZONE` (TTL `ttl`), NXDOMAIN with an SOA otherwise; `silent` ignores all."""

    ttl: int = 300
    silent: bool = False
    received: list[str] = field(default_factory=list)
    port: int = 0

    def answer(self, wire_query: bytes, tcp: bool) -> bytes | None:
        query = dns.message.from_wire(wire_query)
        question = query.question[0]
        rtype = dns.rdatatype.to_text(question.rdtype)
        self.received.append(f"{question.name.to_text().lower()} {rtype}")
        if self.silent:
            return None
        reply = dns.message.make_response(query)
        records = ZONE.get(question.name.to_text().lower())
        if records is None:
            reply.set_rcode(dns.rcode.NXDOMAIN)
            reply.authority.append(
                dns.rrset.from_text(
                    "example.", 30, "IN", "SOA", "ns.example. host.example. 1 60 60 60 30"
                )
            )
        elif rtype in records:
            reply.answer.append(
                dns.rrset.from_text_list(question.name, self.ttl, "IN", rtype, records[rtype])
            )
        wire = reply.to_wire()
        if not tcp and len(wire) > 512:
            reply.answer.clear()
            reply.flags |= dns.flags.TC
            wire = reply.to_wire()
        return wire

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        upstream = self

        class Udp(asyncio.DatagramProtocol):
            def connection_made(self, transport: Any) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: Any) -> None:
                answer = upstream.answer(data, tcp=False)
                if answer is not None:
                    self.transport.sendto(answer, addr)

        for _attempt in range(20):  # a free UDP port whose TCP twin is free too
            transport, _ = await loop.create_datagram_endpoint(Udp, local_addr=("127.0.0.1", 0))
            self.port = transport.get_extra_info("sockname")[1]
            try:
                socket.create_server(("127.0.0.1", self.port)).close()
                break
            except OSError:
                transport.close()

        async def tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            length = int.from_bytes(await reader.readexactly(2), "big")
            answer = self.answer(await reader.readexactly(length), tcp=True)
            if answer is not None:
                writer.write(len(answer).to_bytes(2, "big") + answer)
                await writer.drain()
            writer.close()

        self._tcp = await asyncio.start_server(tcp, "127.0.0.1", self.port)


class Gateway:
    """The resolver on 127.0.0.1:<ephemeral> with a local upstream, in a background loop."""

    def __init__(self, snapshot: Any, journal_dir: Path | None, **options: Any) -> None:
        self.upstream_server = LocalUpstream(ttl=options.pop("upstream_ttl", 300))
        self.upstream_server.silent = options.pop("upstream_silent", False)
        self.holder = options.pop("holder", None) or SnapshotHolder(snapshot=snapshot)
        self.journal = JournalWriter(journal_dir, flush_interval=0.01) if journal_dir else None
        self.options = options
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start())

    def call(self, coroutine: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    async def _start(self) -> None:
        await self.upstream_server.start()
        tcp_slots = self.options.pop("tcp_slots", None)
        names = ("timeout", "retries", "cache_entries")
        upstream_options = {k: self.options.pop(k) for k in names if k in self.options}
        self.upstream = Upstream([("127.0.0.1", self.upstream_server.port)], **upstream_options)
        self.resolver = Resolver(self.holder, self.upstream, journal=self.journal, **self.options)
        self.server = DnsServer(self.resolver, tcp_slots)
        ((_, self.port),) = await self.server.start([("127.0.0.1", 0)])

    def run(self, function: Callable[[], Any]) -> Any:
        async def wrapper() -> Any:
            return function()

        return self.call(wrapper())

    def close(self) -> None:
        self.call(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        if self.journal is not None:
            self.journal.close()
