"""Connections to origin servers: host overrides and a pool of idle keep-alive connections."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass

from schoolgate.gateway.proxy.http import MAX_HEAD_BYTES

CONNECT_TIMEOUT = 10.0
IDLE_SECONDS = 30.0
MAX_IDLE_PER_ORIGIN = 128


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int


class HostOverrides:
    """Site-configured names that resolve to fixed addresses, e.g. `*.test` -> 127.0.0.1:8080.

    An entry `name` covers only that name; `*.name` covers every name below it. A mapped value
    without a port keeps the port the client asked for.
    """

    def __init__(self, entries: dict[str, str] | None = None) -> None:
        self._exact: dict[str, tuple[str, int | None]] = {}
        self._suffix: dict[str, tuple[str, int | None]] = {}
        for name, value in (entries or {}).items():
            mapped = _parse_address(value, where=f"hosts override {name!r}")
            key = name.lower().rstrip(".")
            if key.startswith("*."):
                self._suffix[key[2:]] = mapped
            else:
                self._exact[key] = mapped

    def resolve(self, host: str, port: int) -> Address:
        mapped = self._exact.get(host)
        if mapped is None and self._suffix:
            labels = host.split(".")
            for i in range(1, len(labels)):
                mapped = self._suffix.get(".".join(labels[i:]))
                if mapped:
                    break
        if mapped is None:
            return Address(host, port)
        return Address(mapped[0], mapped[1] or port)


def _parse_address(value: str, *, where: str) -> tuple[str, int | None]:
    host, sep, port = value.rpartition(":")
    if not sep or "]" in port:
        return value.strip("[]"), None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{where}: {value!r} is not host or host:port")
    return host.strip("[]"), int(port)


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class UpstreamPool:
    """Idle connections per origin address, reused for later requests to the same origin."""

    def __init__(self, overrides: HostOverrides | None = None) -> None:
        self.overrides = overrides or HostOverrides()
        self._idle: dict[Address, list[tuple[float, Connection]]] = defaultdict(list)

    def address(self, host: str, port: int) -> Address:
        return self.overrides.resolve(host, port)

    async def open(self, address: Address) -> Connection:
        return await asyncio.wait_for(
            asyncio.open_connection(address.host, address.port, limit=MAX_HEAD_BYTES),
            CONNECT_TIMEOUT,
        )

    def take_idle(self, address: Address) -> Connection | None:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            since, (reader, writer) = idle.pop()
            if now - since < IDLE_SECONDS and not reader.at_eof() and not writer.is_closing():
                return reader, writer
            writer.close()
        return None

    def give_back(self, address: Address, connection: Connection) -> None:
        idle = self._idle[address]
        if len(idle) >= MAX_IDLE_PER_ORIGIN:
            connection[1].close()
            return
        idle.append((time.monotonic(), connection))

    def close(self) -> None:
        for idle in self._idle.values():
            for _, (_, writer) in idle:
                writer.close()
        self._idle.clear()
