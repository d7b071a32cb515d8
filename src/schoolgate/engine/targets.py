"""Normalising what a user asked for into a `Target`: a clean host name and URL.

Lists and rules only ever see normalised targets, so `WWW.Example.COM.`, `example.com:443`,
`http://user@example.com/` and `xn--bcher-kva.example` all match the entries they should.
"""

from __future__ import annotations

import ipaddress
import re
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import idna


class TargetError(ValueError):
    """The target is not a URL or host name Schoolgate can decide on."""


class Target(NamedTuple):
    """A normalised request target. Immutable; a NamedTuple because one is built per request
    and a frozen dataclass's constructor costs several times as much."""

    host: str
    """Lower-case ASCII (IDNA) host name without a trailing dot, or a canonical IP address."""
    path: str = "/"
    """Path and query, percent-decoded where that is safe, always starting with `/`."""
    scheme: str = "http"
    port: int | None = None
    is_ip: bool = False
    raw_query: str = ""

    @property
    def url(self) -> str:
        """The URL as lists store it: host and path, without scheme or port."""
        return self.host + self.path

    @property
    def labels(self) -> list[str]:
        return self.host.split(".")

    def suffixes(self) -> list[str]:
        """`a.b.example.com` -> [`a.b.example.com`, `b.example.com`, `example.com`, `com`]."""
        host = self.host
        suffixes = [host]
        if self.is_ip:
            return suffixes
        dot = host.find(".")
        while dot >= 0:
            suffixes.append(host[dot + 1 :])
            dot = host.find(".", dot + 1)
        return suffixes


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_UNRESERVED_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_PLAIN_HOST = re.compile(
    r"(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
)
"""A host name already in canonical form whose last label is not numeric (so not an IPv4)."""
_SIMPLE_URL = re.compile(
    r"((?i:https?))://([A-Za-z0-9_.-]+)(?::([0-9]{1,5}))?([/?][^\x00-\x20%#\\]*)?"
)
"""The common case that needs no decoding: checked host, plain port, no escapes or fragment."""
_SPECIAL_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})
_SAFE_TO_DECODE = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$'()*,;:@"
)


def is_plain_host(host: str) -> bool:
    """Whether `host` is already a canonical (lower-case ASCII, valid) non-IP host name."""
    return len(host) <= 253 and _PLAIN_HOST.fullmatch(host) is not None


def normalise_host(host: str) -> tuple[str, bool]:
    """Return the canonical form of a host and whether it is an IP address."""
    if is_plain_host(host):
        return host, False  # already canonical: most list entries and URL hosts
    host = unquote(host).strip().rstrip(".").lower()
    if not host:
        raise TargetError("empty host name")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host.isascii():
        # Mapped first, like browsers do: fullwidth `１２７.０.０.１` or `²` are IP addresses.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise TargetError(f"not a valid international host name: {exc}") from None
    try:
        return _embedded_ipv4(ipaddress.ip_address(host)).compressed, True
    except ValueError:
        pass
    if _looks_like_legacy_ipv4(host):
        return _legacy_ipv4(host), True
    if len(host) > 253:
        raise TargetError("host name longer than 253 characters")
    for label in host.split("."):
        if not _HOST_LABEL.match(label):
            raise TargetError(f"invalid label {label!r} in host name")
    return host, False


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _embedded_ipv4(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An IPv6 literal that reaches an IPv4 host is decided (and connected to) as that IPv4
    address, so `[::ffff:a.b.c.d]`, `[::a.b.c.d]`, `[64:ff9b::a.b.c.d]` (NAT64) and
    `[2002:aabb:ccdd::]` (6to4) cannot slip past an IPv4 list entry."""
    if address.version == 4:
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    packed = int(address)
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return address


def _looks_like_legacy_ipv4(host: str) -> bool:
    parts = host.split(".")
    return 1 <= len(parts) <= 4 and all(re.fullmatch(r"0x[0-9a-f]+|[0-9]+", p) for p in parts)


def _legacy_ipv4(host: str) -> str:
    """Browsers accept `2130706433`, `0x7f.1` and `0177.0.0.1` as IPv4: so must the filter."""
    try:
        parts = [
            int(p, 16)
            if p.startswith("0x")
            else int(p, 8)
            if len(p) > 1 and p.startswith("0")
            else int(p)
            for p in host.split(".")
        ]
    except ValueError:  # `08.0.0.5`: a leading zero makes it octal, and 8 is no octal digit
        raise TargetError(f"{host!r} is not a valid IPv4 address (bad octal part)") from None
    *head, last = parts
    if any(p > 255 for p in head) or last >= 256 ** (5 - len(parts)):
        raise TargetError(f"{host!r} is not a valid IPv4 address")
    value = 0
    for p in head:
        value = value * 256 + p
    value = value * 256 ** (5 - len(parts)) + last
    return str(ipaddress.IPv4Address(value))


def normalise_path(path: str) -> str:
    """Decode escapes of unreserved characters only, so `/%70orn` matches `/porn`."""
    if not path.startswith("/"):
        path = "/" + path

    def decode(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _SAFE_TO_DECODE else "%" + match.group(1).upper()

    return _UNRESERVED_ESCAPE.sub(decode, path)


def parse_target(text: str) -> Target:
    """Parse a URL (`https://x.y/z?q=1`) or a bare host name (`x.y`, `x.y:443`)."""
    text = text.strip()
    simple = _SIMPLE_URL.fullmatch(text)
    if simple is not None:
        target = _simple_target(*simple.groups())
        if target is not None:
            return target
    return _parse_target_slow(text)


def _parse_target_slow(text: str) -> Target:
    if not text:
        raise TargetError("empty target")
    if any(ord(c) < 0x21 for c in text):
        raise TargetError("control characters or spaces in target")
    if not _SCHEME.match(text):
        text = "http://" + text
    text = _backslashes_as_browsers_read_them(text)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise TargetError(f"not a valid URL: {exc}") from None
    host_text = parts.hostname
    if host_text is None:
        raise TargetError("no host name in target")
    host, is_ip = normalise_host(host_text)
    path = normalise_path(parts.path or "/")
    if parts.query:
        path += "?" + parts.query
    return Target(
        host=host,
        path=path,
        scheme=parts.scheme.lower(),
        port=port,
        is_ip=is_ip,
        raw_query=parts.query,
    )


def _backslashes_as_browsers_read_them(url: str) -> str:
    """Browsers read `\\` as `/` before the query in http(s) URLs (WHATWG URL standard), so
    `http://good.example\\@evil.example/` goes to good.example: the filter must see the same."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() not in _SPECIAL_SCHEMES:
        return url
    before, mark, query = rest.partition("?")
    return scheme + sep + before.replace("\\", "/") + mark + query


def _simple_target(scheme: str, host: str, port: str | None, rest: str | None) -> Target | None:
    """The fast path of `parse_target`; None when the slow path must decide."""
    host = host.rstrip(".").lower()
    if not is_plain_host(host) or (port is not None and int(port) > 65535):
        return None
    path, _, query = (rest or "").partition("?")
    path = path or "/"
    if query:
        path += "?" + query
    return Target(
        host=host,
        path=path,
        scheme=scheme.lower(),
        port=int(port) if port is not None else None,
        is_ip=False,
        raw_query=query,
    )
