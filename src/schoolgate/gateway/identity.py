"""Who is asking: client address -> `Subject`, from login bindings and the site's subnets.

Two sources, most specific first:

1. *Bindings*: address -> user (and usually group), written by whatever knows who logged in
   where: the staff app or a RADIUS/DHCP hook POSTs to the bindings endpoint, or writes the
   bindings file directly. The file is JSON, `{"10.20.3.4": {"user": "jsmith", "group": "year-7"}}`
   (a bare string value is a user name with no group; `{"group": "staff"}` names a device's
   group without a user); it is re-read when it changes, so a proxy in another process sees
   bindings the DNS resolver's endpoint accepted, and devices the staff app's console publishes.
   A key may also be an address range (`"10.40.0.0/24": {"group": "pupil-ks2"}`): ranges from
   the file are looked up after exact addresses, most specific first, before the site's subnets.
2. *Subnets* from the site configuration: the pupil VLAN -> the pupil group, and so on. The most
   specific (longest prefix) subnet wins.

Anyone else gets `Subject(group=None)`, which the decider maps to the policy's default group.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schoolgate.engine.decide import Subject
from schoolgate.files import write_atomically
from schoolgate.gateway.reload import file_state
from schoolgate.gateway.site import SiteConfig, Subnet, parse_host_port

log = logging.getLogger(__name__)

_RECHECK_SECONDS = 1.0
_CACHE_LIMIT = 65_536
_MAX_BODY = 64 * 1024


class BindingError(ValueError):
    """A binding (from the file or the endpoint) is malformed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Binding:
    user: str | None
    group: str | None = None
    since: str | None = None
    """When the user logged on there (ISO 8601, UTC): an each-logon agreement (TM-054) must be
    accepted after it."""

    def to_json(self) -> dict[str, str]:
        return {
            **({"user": self.user} if self.user else {}),
            **({"group": self.group} if self.group else {}),
            **({"since": self.since} if self.since else {}),
        }


def canonical_address(address: str) -> str:
    """`::ffff:10.0.0.1` -> `10.0.0.1`; `fe80::1%eth0` -> `fe80::1`; rejects non-addresses."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.compressed


def parse_bindings(data: object, where: str) -> dict[str, Binding]:
    if not isinstance(data, dict):
        raise BindingError(f"{where}: expected a JSON object of address -> binding")
    bindings: dict[str, Binding] = {}
    for address, value in data.items():
        bindings[_address(address, where)] = _binding(value, f"{where}: {address}")
    return bindings


def _address(text: object, where: str) -> str:
    """A canonical address, or for `a.b.c.d/n` a canonical address range."""
    try:
        if "/" in str(text):
            return ipaddress.ip_network(str(text), strict=False).compressed
        return canonical_address(str(text))
    except ValueError:
        raise BindingError(f"{where}: {text!r} is not an IP address or address range") from None


def _binding(value: object, where: str) -> Binding:
    if isinstance(value, str) and value:
        return Binding(value)
    if isinstance(value, dict):
        user, group, since = value.get("user"), value.get("group"), value.get("since")
        if user is not None and (not isinstance(user, str) or not user):
            raise BindingError(f"{where}: user must be a non-empty string")
        if group is not None and not isinstance(group, str):
            raise BindingError(f"{where}: group must be a string")
        if since is not None and _logon_time(since) is None:
            raise BindingError(f"{where}: since {since!r} is not an ISO 8601 time")
        if user or group:
            return Binding(user, group or None, since)
    raise BindingError(f"{where}: expected a user name or {{'user': ..., 'group': ...}}")


def _logon_time(text: object) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _ranges(bindings: dict[str, Binding]) -> list[tuple[Any, Binding]]:
    """The address-range keys, most specific first."""
    networks = [(ipaddress.ip_network(k), b) for k, b in bindings.items() if "/" in k]
    return sorted(networks, key=lambda item: item[0].prefixlen, reverse=True)


class Identity:
    """Maps client addresses to subjects. Thread-safe; cheap enough for every DNS query."""

    def __init__(
        self,
        subnets: Iterable[Subnet] = (),
        bindings_file: Path | None = None,
        nominated_users: Iterable[str] = (),
        on_change: Callable[[str, Binding | None], None] | None = None,
    ) -> None:
        self.on_change = on_change
        """Told of every address whose holder changes (None: released), so that the journal
        keeps the bindings history the monitor attributes third-party log lines by."""
        self.subnets = sorted(subnets, key=lambda s: s.network.prefixlen, reverse=True)
        self.bindings_file = bindings_file
        self.nominated_users = frozenset(nominated_users)
        self._bindings: dict[str, Binding] = {}
        self._ranges: list[tuple[Any, Binding]] = []
        self._cache: dict[str, Subject] = {}
        self._file_state: tuple[int, int, int] | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        if bindings_file is not None:
            self._reload_file(force=True)

    @classmethod
    def from_site(cls, site: SiteConfig, nominated_users: Iterable[str] = ()) -> Identity:
        return cls(site.subnets, site.bindings_file, nominated_users)

    def set_nominated_users(self, users: Iterable[str]) -> None:
        """Called when a new policy arrives (its `nominated_users`)."""
        self.nominated_users = frozenset(users)
        self._cache = {}

    def identify(self, address: str) -> Subject:
        if self.bindings_file is not None and time.monotonic() >= self._next_check:
            self._reload_file()
        subject = self._cache.get(address)
        if subject is None:
            subject = self._lookup(address)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache = {}
            self._cache[address] = subject
        return subject

    def _lookup(self, address: str) -> Subject:
        try:
            canonical = canonical_address(address)
        except ValueError:
            return Subject()
        binding = self._bindings.get(canonical)
        group = binding.group if binding and binding.group else self._subnet_group(canonical)
        if binding is None or binding.user is None:
            return Subject(group=group)
        return Subject(
            group=group, user=binding.user, nominated=binding.user in self.nominated_users
        )

    def _subnet_group(self, address: str) -> str | None:
        ip = ipaddress.ip_address(address)
        for network, binding in self._ranges:
            if ip.version == network.version and ip in network and binding.group:
                return binding.group
        for subnet in self.subnets:
            if ip.version == subnet.network.version and ip in subnet.network:
                return subnet.group
        return None

    # Bindings ---------------------------------------------------------------------------------

    def bindings(self) -> dict[str, Binding]:
        return dict(self._bindings)

    def logon_time(self, address: str) -> datetime | None:
        """When the user bound to `address` logged on there, if the binding says."""
        if self.bindings_file is not None and time.monotonic() >= self._next_check:
            self._reload_file()
        try:
            binding = self._bindings.get(canonical_address(address))
        except ValueError:
            return None
        return _logon_time(binding.since) if binding is not None and binding.since else None

    def bind(self, address: str, user: str | None, group: str | None = None) -> None:
        """Bind (or with `user=None` unbind) an address, persisting to the bindings file."""
        canonical = _address(address, "binding")
        with self._lock:
            bindings = dict(self._bindings)
            if user:
                since = datetime.now(UTC).isoformat(timespec="microseconds")
                bindings[canonical] = Binding(user, group or None, since)
            else:
                bindings.pop(canonical, None)
            if self.bindings_file is not None:
                self._write_file(bindings)
            self._replace(bindings)

    def _write_file(self, bindings: dict[str, Binding]) -> None:
        path = self.bindings_file
        path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({a: b.to_json() for a, b in sorted(bindings.items())}, indent=1)
        write_atomically(path, body.encode("utf-8"))
        self._file_state = file_state(path)

    def _reload_file(self, force: bool = False) -> None:
        self._next_check = time.monotonic() + _RECHECK_SECONDS
        with self._lock:
            state = file_state(self.bindings_file)
            if state == self._file_state and not force:
                return
            self._file_state = state
            if state is None:
                self._replace({}, announce=not force)
                return
            try:
                text = self.bindings_file.read_text(encoding="utf-8")
                bindings = parse_bindings(json.loads(text), str(self.bindings_file))
            except (OSError, ValueError) as exc:  # keep the last good bindings
                log.error("bindings not reloaded: %s", exc)
                return
            self._replace(bindings, announce=not force)

    def _replace(self, bindings: dict[str, Binding], announce: bool = True) -> None:
        """Swap in new bindings (the lock is held) and announce each changed address."""
        old = self._bindings
        self._bindings = bindings
        self._ranges = _ranges(bindings)
        self._cache = {}
        if not announce or self.on_change is None:
            return
        for address in sorted(old.keys() | bindings.keys()):
            if "/" in address or old.get(address) == bindings.get(address):
                continue  # address ranges name a group, not who holds a device
            try:
                self.on_change(address, bindings.get(address))
            except Exception:  # the journal must never stop the gateway identifying devices
                log.exception("binding change for %s not recorded", address)


# The bindings endpoint ----------------------------------------------------------------------------


class BindingsEndpoint:
    """A minimal HTTP/1.1 endpoint: `POST /bindings` with `{"address", "user", "group"}`
    (user null unbinds), `GET /bindings` lists them. Optional bearer token."""

    def __init__(self, identity: Identity, token: str | None = None) -> None:
        self.identity = identity
        self.token = token
        self.server: asyncio.Server | None = None

    async def start(self, listen: str) -> tuple[str, int]:
        host, port = parse_host_port(listen, default_port=8053)
        self.server = await asyncio.start_server(self._serve, host, port)
        return self.server.sockets[0].getsockname()[:2]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, body = await asyncio.wait_for(self._handle(reader), timeout=10)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            status, body = 400, {"error": "malformed request"}
        payload = json.dumps(body).encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + payload)
            await writer.drain()
        writer.close()

    async def _handle(self, reader: asyncio.StreamReader) -> tuple[int, object]:
        request_line = (await reader.readline()).decode("latin-1").split()
        headers: dict[str, str] = {}
        while True:
            line = (await reader.readline()).decode("latin-1")
            if line in ("\r\n", "\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if len(request_line) != 3:
            return 400, {"error": "malformed request line"}
        method, path = request_line[0], request_line[1]
        if path != "/bindings":
            return 404, {"error": f"no such resource {path}"}
        if self.token and headers.get("authorization") != f"Bearer {self.token}":
            return 401, {"error": "a valid bearer token is required"}
        if method == "GET":
            return 200, {a: b.to_json() for a, b in self.identity.bindings().items()}
        if method != "POST":
            return 405, {"error": f"method {method} not allowed"}
        length = int(headers.get("content-length", "0"))
        if not 0 < length <= _MAX_BODY:
            return 400, {"error": f"body must be 1 to {_MAX_BODY} bytes"}
        return self._post(await reader.readexactly(length))

    def _post(self, body: bytes) -> tuple[int, object]:
        try:
            data = json.loads(body)
            if not isinstance(data, dict) or "address" not in data:
                raise BindingError('expected {"address": ..., "user": ..., "group": ...}')
            user, group = data.get("user"), data.get("group")
            if user is not None and (not isinstance(user, str) or not user):
                raise BindingError("user must be a non-empty string or null")
            if group is not None and not isinstance(group, str):
                raise BindingError("group must be a string")
            self.identity.bind(str(data["address"]), user, group)
        except (ValueError, BindingError) as exc:
            return 400, {"error": str(exc)}
        return 200, {"ok": True}


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
}
