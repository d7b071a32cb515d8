"""Just enough HTTP/1.1 to forward requests correctly: heads, body framing, hop-by-hop headers.

Bodies are relayed as they arrive, never buffered whole. Chunked bodies are re-framed chunk by
chunk (trailers dropped) so a proxy hop never needs to know the full length in advance.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import Enum

MAX_HEAD_BYTES = 64 * 1024
CHUNK_BYTES = 64 * 1024

# RFC 9110 §7.6.1: never forwarded; plus whatever the Connection header names.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class HttpError(Exception):
    """A malformed or unsupported message; `status` is what the client should be told."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(slots=True)
class Head:
    """A message's headers, in arrival order."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    _by_name: dict[str, list[str]] | None = field(default=None, repr=False, compare=False)
    """Values by lower-case name, built on first lookup: a request is looked up about ten times."""

    def _index(self) -> dict[str, list[str]]:
        index = self._by_name
        if index is None:
            index = {}
            for key, value in self.headers:
                index.setdefault(key.lower(), []).append(value)
            self._by_name = index
        return index

    def get(self, name: str) -> str | None:
        values = self._index().get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        return list(self._index().get(name.lower(), ()))

    def tokens(self, name: str) -> set[str]:
        """Comma-separated header values as lower-case tokens (`Connection: close, te`)."""
        return {
            token.strip().lower()
            for value in self.get_all(name)
            for token in value.split(",")
            if token.strip()
        }


@dataclass(slots=True)
class Request:
    method: str
    target: str
    version: str
    head: Head


@dataclass(slots=True)
class Response:
    version: str
    status: int
    reason: str
    head: Head


class Framing(Enum):
    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"
    CLOSE = "close"


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The bytes up to and including the blank line; None if the peer closed cleanly first."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise HttpError(400, "connection closed in the middle of a message head") from None
    except asyncio.LimitOverrunError:
        raise HttpError(431, f"message head longer than {MAX_HEAD_BYTES} bytes") from None
    return data


def _split_head(data: bytes) -> tuple[str, list[tuple[str, str]]]:
    try:
        text = data.decode("latin-1")
    except UnicodeDecodeError:  # pragma: no cover - latin-1 decodes every byte
        raise HttpError(400, "undecodable message head") from None
    lines = text.split("\r\n")
    while lines and not lines[0]:
        lines.pop(0)  # RFC 9112 §2.2: ignore blank lines before a request line
    if not lines:
        raise HttpError(400, "empty message head")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or " " in name:
            raise HttpError(400, f"malformed header line {line[:60]!r}")
        headers.append((name, value.strip()))
    return lines[0], headers


def parse_request(data: bytes) -> Request:
    start, headers = _split_head(data)
    parts = start.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise HttpError(400, f"malformed request line {start[:80]!r}")
    method, target, version = parts
    if not method.isalpha() or not method.isupper():
        raise HttpError(400, f"malformed method {method[:20]!r}")
    return Request(method, target, version, Head(headers))


def parse_response(data: bytes) -> Response:
    start, headers = _split_head(data)
    version, _, rest = start.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise HttpError(502, f"upstream sent a malformed status line {start[:80]!r}")
    return Response(version, int(code), reason, Head(headers))


def request_framing(head: Head) -> tuple[Framing, int]:
    if "chunked" in head.tokens("transfer-encoding"):
        return Framing.CHUNKED, 0
    length = _content_length(head, 400)
    return (Framing.LENGTH, length) if length else (Framing.NONE, 0)


def response_framing(head: Head, status: int, request_method: str) -> tuple[Framing, int]:
    if request_method == "HEAD" or status < 200 or status in (204, 304):
        return Framing.NONE, 0
    if "chunked" in head.tokens("transfer-encoding"):
        return Framing.CHUNKED, 0
    length = _content_length(head, 502)
    if length is None:
        return Framing.CLOSE, 0
    return (Framing.LENGTH, length) if length else (Framing.NONE, 0)


def _content_length(head: Head, status: int) -> int | None:
    """The declared body length; None without a Content-Length header."""
    values = {v.strip() for value in head.get_all("content-length") for v in value.split(",")}
    if not values:
        return None
    if len(values) > 1 or not next(iter(values)).isdigit():
        raise HttpError(status, f"invalid Content-Length {sorted(values)}")
    return int(next(iter(values)))


def forwardable_headers(head: Head) -> list[tuple[str, str]]:
    """Headers minus hop-by-hop ones and those the Connection header names."""
    named = head.tokens("connection")
    return [
        (key, value)
        for key, value in head.headers
        if key.lower() not in HOP_BY_HOP and key.lower() not in named
    ]


def wants_keep_alive(version: str, head: Head) -> bool:
    connection = head.tokens("connection") | head.tokens("proxy-connection")
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def encode_head(start: str, headers: list[tuple[str, str]]) -> bytes:
    lines = [start, *(f"{key}: {value}" for key, value in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def relay_body(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    framing: Framing,
    length: int,
    *,
    dechunk: bool = False,
) -> None:
    """Copy one body from `reader` to `writer`. With `dechunk`, chunked input is written raw."""
    if framing is Framing.LENGTH:
        await _relay_length(reader, writer, length)
    elif framing is Framing.CHUNKED:
        await _relay_chunked(reader, writer, dechunk)
    elif framing is Framing.CLOSE:
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            await writer.drain()


async def _relay_length(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, length: int
) -> None:
    remaining = length
    while remaining:
        chunk = await reader.read(min(remaining, CHUNK_BYTES))
        if not chunk:
            raise HttpError(502, f"body ended {remaining} bytes early")
        writer.write(chunk)
        remaining -= len(chunk)
        await writer.drain()


async def _relay_chunked(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, dechunk: bool
) -> None:
    while True:
        size = await _chunk_size(reader)
        if size == 0:
            await _skip_trailers(reader)
            if not dechunk:
                writer.write(b"0\r\n\r\n")
            await writer.drain()
            return
        if not dechunk:
            writer.write(b"%x\r\n" % size)
        await _relay_length(reader, writer, size)
        if await reader.readexactly(2) != b"\r\n":
            raise HttpError(502, "chunk not followed by CRLF")
        if not dechunk:
            writer.write(b"\r\n")


async def _chunk_size(reader: asyncio.StreamReader) -> int:
    try:
        line = await reader.readuntil(b"\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise HttpError(502, "chunked body ended without a last chunk") from None
    text = line[:-2].split(b";", 1)[0].strip()
    try:
        return int(text, 16)
    except ValueError:
        raise HttpError(502, f"invalid chunk size {text[:20]!r}") from None


async def _skip_trailers(reader: asyncio.StreamReader) -> None:
    while (await reader.readuntil(b"\r\n")) != b"\r\n":
        pass
