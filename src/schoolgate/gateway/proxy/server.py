"""The filtering HTTP proxy: plain HTTP forwarded with a decision per request, HTTPS `CONNECT`
tunnels decided on the host name alone (nothing is decrypted; see docs/https-limits.md), unless
the site configures the optional HTTPS inspection (proxy/inspect.py).

One asyncio task per client connection; requests on a connection are handled in turn (keep-alive,
pipelining-safe). The decider comes from a zero-argument callable so a hot-reloaded snapshot is
picked up by the next request without dropping any in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action
from schoolgate.engine.targets import Target, TargetError, parse_target
from schoolgate.gateway.asking import Visitor, WhoIsAsking
from schoolgate.gateway.decision_cache import DecisionCache
from schoolgate.gateway.failing import CLOSED, OPEN, failure_decision, failure_name
from schoolgate.gateway.journal_events import EventSink, decision_record
from schoolgate.gateway.proxy.gateway_pages import GatewayPages
from schoolgate.gateway.proxy.http import (
    Framing,
    HttpError,
    Request,
    encode_head,
    forwardable_headers,
    parse_request,
    parse_response,
    read_head,
    relay_body,
    request_framing,
    response_framing,
    wants_keep_alive,
)
from schoolgate.gateway.proxy.listener import Listener
from schoolgate.gateway.proxy.pages import PageResponse
from schoolgate.gateway.proxy.upstream import Connection, HostOverrides, UpstreamPool
from schoolgate.gateway.proxy.users import Authenticator, parse_basic_credentials

if TYPE_CHECKING:
    from schoolgate.gateway.proxy.inspect import HttpsInspector

log = logging.getLogger(__name__)

VIA = ("Via", "1.1 schoolgate")
IDLE_SECONDS = 60.0
MAX_FORM_BYTES = 64 * 1024
TUNNEL_CHUNK = 64 * 1024
SMALL_BODY_BYTES = 64 * 1024
LINGER_SECONDS = 5.0
LINGER_BYTES = 64 * 1024 * 1024
DECISION_CACHE_ENTRIES = 50_000
CACHED_URL_CHARS = 1024
"""Longer URLs (rarely repeated, mostly tracking links) are decided afresh, not cached."""

PROBE_HEADER = "x-schoolgate-probe"
"""A request carrying this header is a filtering self-test probe (`schoolgate selftest`): it is
identified, decided and journalled like any other (the journal's `extra.selftest` marks it, and
the alert rules skip it), but an allowed one is answered `204` here instead of being fetched,
and every answer says what was decided in `X-Schoolgate-Decision`, `-Group` and `-Rule`. A
probe gains a client nothing it could not learn by visiting: no content is ever fetched."""


@dataclass(slots=True)
class ProxySettings:
    pages_url: str = "http://127.0.0.1:8081"
    """Where the block, warn and agreement pages are served (the proxy answers for it too)."""
    hosts: dict[str, str] = field(default_factory=dict)
    """Host overrides: `name` or `*.suffix` -> `address[:port]` (tests, internal services)."""
    connect_ports: frozenset[int] = frozenset({443})
    """Ports `CONNECT` may reach; anything else is refused (no tunnelling to SMTP, SSH...)."""
    require_auth: bool = False
    """Ask every client for `Proxy-Authorization` instead of identifying by address."""
    realm: str = "Schoolgate"


class ProxyServer:
    def __init__(
        self,
        settings: ProxySettings,
        decider: Callable[[], Decider],
        pages: GatewayPages,
        *,
        authenticator: Authenticator | None = None,
        identify: Callable[[str], Subject] | None = None,
        journal: EventSink | None = None,
        inspector: HttpsInspector | None = None,
    ) -> None:
        self.settings = settings
        self.inspector = inspector
        """Optional HTTPS inspection with the school CA (proxy/inspect.py); None: tunnels only."""
        self.decider = decider
        self.pages = pages
        self.authenticator = authenticator
        self.identify = identify
        self.who = WhoIsAsking(identify, agreements=pages.agreements)
        self.journal = journal
        self.pool = UpstreamPool(HostOverrides(settings.hosts))
        self.decisions = DecisionCache(DECISION_CACHE_ENTRIES)
        self._fail_mode = CLOSED
        pages_parts = urlsplit(settings.pages_url)
        self.pages_authority = (pages_parts.netloc or "").lower()
        self._listener = Listener(self._serve_client)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        return await self._listener.start(host, port)

    async def close(self) -> None:
        """Stop listening and end every open client connection (keep-alive ones included)."""
        await self._listener.close()
        self.pool.close()
        if self.inspector is not None:
            self.inspector.close()

    # One client connection ------------------------------------------------------------------

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        address = str(writer.get_extra_info("peername")[0])
        try:
            while True:
                async with asyncio.timeout(IDLE_SECONDS):  # cheaper than wait_for: no new task
                    data = await read_head(reader)
                if data is None:
                    break
                if not await self._handle(parse_request(data), reader, writer, address):
                    break
        except HttpError as exc:
            await _send_error(writer, exc.status, exc.message)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("proxy connection from %s failed", address)
            await _send_error(writer, 500, "the filter failed to handle this request")
        finally:
            writer.close()

    async def _handle(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        address: str,
    ) -> bool:
        """Answer one request; False when the client connection must close afterwards."""
        visitor = await self._visitor(request, address)
        if isinstance(visitor, PageResponse):
            return await self._reply_without_body(request, reader, writer, visitor)
        if request.method == "CONNECT":
            await self._connect(request, reader, writer, visitor)
            return False
        if request.target.startswith("/"):
            return await self._pages(request, reader, writer, visitor, request.head.get("host"))
        scheme, authority, host, port, path = _absolute_target(request.target)
        if authority.lower() == self.pages_authority:
            return await self._pages(request, reader, writer, visitor, None, path)
        url = f"{scheme}://{authority}{path}"
        probe = request.head.get(PROBE_HEADER) is not None
        decision = self._decide(visitor, url, request.method, address, probe=probe)
        page = self.pages.response_for(decision, url, visitor)
        if probe:
            return await self._reply_without_body(request, reader, writer, _probe(decision, page))
        if page is not None:
            return await self._reply_without_body(request, reader, writer, page)
        # Connect to exactly the host decided on (normalised: IDNA per UTS 46, IPv4 behind an
        # IPv6 literal unwrapped), never to the raw name, which Python's codec reads differently.
        host = _target_of(url).host
        authority = _host_header(host, port, default_port=80)
        return await self._forward(request, reader, writer, host, port, authority, path)

    def _decide(
        self, visitor: Visitor, url: str, method: str, address: str, *, probe: bool = False
    ) -> Decision:
        extra: dict[str, Any] = {"method": method, **({"selftest": True} if probe else {})}
        try:
            decision = self._policy_decision(visitor, url)
        except HttpError:
            raise
        except Exception as exc:  # filtering failed: the policy's fail_mode decides
            log.exception("proxy: cannot decide on a request from %s", address)
            decision = failure_decision(self._fail_mode, None, url, failure_name(exc))
            if self._fail_mode == OPEN:
                extra["unfiltered"] = failure_name(exc)
        if self.journal is not None:
            event = decision_record(
                decision,
                source="proxy",
                address=address,
                user=visitor.user,
                target=url,
                extra=extra,
            )
            self.journal.append(event)
            self.journal.hand_over()  # in the OS before the answer goes out
        return decision

    def _policy_decision(self, visitor: Visitor, url: str) -> Decision:
        decider = self.decider()
        self._fail_mode = decider.policy.filtering.fail_mode
        subject = self.who.subject(visitor, decider)
        moment = datetime.now(UTC)
        if len(url) <= CACHED_URL_CHARS:
            return self.decisions.lookup(
                decider,
                (subject, url),
                lambda: _fresh_decision(decider, subject, url, moment),
                moment,
            )
        return _fresh_decision(decider, subject, url, moment)

    async def _visitor(self, request: Request, address: str) -> Visitor | PageResponse:
        credentials = parse_basic_credentials(request.head.get("proxy-authorization"))
        if credentials is not None and self.authenticator is not None:
            entry = self.authenticator.cached(*credentials)
            if entry is None:
                entry = await asyncio.to_thread(self.authenticator.check, *credentials)
            if entry is not None:
                return Visitor(f"user:{entry.name}", address, entry.name, entry.group)
            return self._auth_required("The user name or password is not right.")
        if self.settings.require_auth:
            return self._auth_required("Please sign in to use the internet.")
        return self.who.visitor(address)

    def _auth_required(self, message: str) -> PageResponse:
        return PageResponse(
            407,
            message.encode(),
            [
                ("Proxy-Authenticate", f'Basic realm="{self.settings.realm}", charset="UTF-8"'),
                ("Content-Type", "text/plain; charset=utf-8"),
            ],
        )

    # Pages and refusals -----------------------------------------------------------------------

    async def _pages(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        visitor: Visitor,
        host: str | None,
        path: str | None = None,
    ) -> bool:
        body = await _read_small_body(request, reader)
        if host is not None and host.lower() == self.pages_authority:
            host = None
        page = await self.pages.handle(request.method, path or request.target, body, visitor, host)
        return await _write_page(writer, request, page)

    async def _reply_without_body(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        page: PageResponse,
    ) -> bool:
        """Answer from the gateway; a request body we will not read ends the connection."""
        framing, _ = request_framing(request.head)
        if framing is Framing.NONE:
            return await _write_page(writer, request, page)
        # No drain: a client busy uploading may not read until it has sent everything.
        writer.write(_page_bytes(request, page, keep_alive=False))
        await _discard_until_closed(reader, writer)
        return False

    # Forwarding plain HTTP --------------------------------------------------------------------

    async def _forward(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        host: str,
        port: int,
        authority: str,
        path: str,
    ) -> bool:
        framing, length = request_framing(request.head)
        head = _upstream_request_head(request, authority, path, framing)
        if "100-continue" in request.head.tokens("expect") and request.version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        address = self.pool.address(host, port)
        upstream = self.pool.take_idle(address)
        retry_allowed = upstream is not None and framing is Framing.NONE
        try:
            if upstream is None:
                upstream = await self.pool.open(address)
            response_head = await _exchange(upstream, head, reader, framing, length)
            if response_head is None and retry_allowed:
                upstream[1].close()
                upstream = await self.pool.open(address)
                response_head = await _exchange(upstream, head, reader, framing, length)
        except (OSError, TimeoutError) as exc:
            if upstream is not None:
                upstream[1].close()
            raise HttpError(502, f"cannot reach {authority}: {exc}") from None
        if response_head is None:
            upstream[1].close()
            raise HttpError(502, f"{authority} closed the connection without answering")
        return await self._relay_response(request, writer, upstream, response_head, address)

    async def _relay_response(
        self,
        request: Request,
        writer: asyncio.StreamWriter,
        upstream: Connection,
        data: bytes,
        address: Any,
        pool: UpstreamPool | None = None,
    ) -> bool:
        up_reader, up_writer = upstream
        response = parse_response(data)
        while 100 <= response.status < 200:  # interim responses: 100 was sent already
            data = await read_head(up_reader)
            if data is None:
                raise HttpError(502, "upstream closed after an interim response")
            response = parse_response(data)
        framing, length = response_framing(response.head, response.status, request.method)
        client_keep = wants_keep_alive(request.version, request.head)
        upstream_keep = framing is not Framing.CLOSE and wants_keep_alive(
            response.version, response.head
        )
        headers = forwardable_headers(response.head)
        dechunk = framing is Framing.CHUNKED and request.version == "HTTP/1.0"
        if framing is Framing.CHUNKED:
            headers = [h for h in headers if h[0].lower() != "content-length"]
            if not dechunk:
                headers.append(("Transfer-Encoding", "chunked"))
        if framing is Framing.CLOSE or dechunk:
            client_keep = False
        headers.append(VIA)
        if not client_keep:
            headers.append(("Connection", "close"))
        elif request.version == "HTTP/1.0":
            headers.append(("Connection", "keep-alive"))
        start = f"HTTP/1.1 {response.status} {response.reason}".rstrip()
        try:
            if framing is Framing.LENGTH and length <= SMALL_BODY_BYTES:
                # One write (one syscall) for head and body: most responses are small.
                body = await up_reader.readexactly(length)
                writer.write(encode_head(start, headers) + body)
            else:
                writer.write(encode_head(start, headers))
                await relay_body(up_reader, writer, framing, length, dechunk=dechunk)
        except (HttpError, asyncio.IncompleteReadError):
            up_writer.close()
            return False
        if upstream_keep:
            (pool or self.pool).give_back(address, upstream)
        else:
            up_writer.close()
        await writer.drain()
        return client_keep

    # HTTPS CONNECT tunnels --------------------------------------------------------------------

    async def _connect(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        visitor: Visitor,
    ) -> None:
        host, port = _connect_authority(request.target)
        if port not in self.settings.connect_ports:
            await _send_error(writer, 403, f"tunnels to port {port} are not allowed")
            return
        url = f"https://{host}/" if port == 443 else f"https://{host}:{port}/"
        host = _target_of(url).host  # the name decided on is the name connected to
        decision = self._decide(visitor, url, "CONNECT", visitor.address)
        refusal = self._tunnel_refusal(decision, url, visitor)
        inspector = self.inspector
        if inspector is not None and inspector.terminates(host, refusal is not None):
            await inspector.serve(self, reader, writer, visitor, host, port)
            return
        if refusal is not None:
            await _send_error(writer, 403, refusal)
            return
        try:
            upstream = await self.pool.open(self.pool.address(host, port))
        except (OSError, TimeoutError) as exc:
            await _send_error(writer, 502, f"cannot reach {host}:{port}: {exc}")
            return
        writer.write(b"HTTP/1.1 200 Connection established\r\n" + b"Via: 1.1 schoolgate\r\n\r\n")
        await writer.drain()
        await _tunnel(reader, writer, *upstream)

    def _tunnel_refusal(self, decision: Decision, url: str, visitor: Visitor) -> str | None:
        """Why a tunnel is refused (the 403 body), or None. Browsers rarely show this text, so
        it also points at the pages where the user can act on it."""
        if decision.action is Action.ALLOW:
            return None
        links = self.pages.links
        if decision.rule == "agreement-required":
            return f"{decision.reason}\nSign the agreement at {links.agreement(url)}\n"
        if decision.action is Action.WARN:
            if self.pages.passes.has(visitor.key, decision.target.split("/", 1)[0]):
                return None
            return f"{decision.reason}\nTo continue, confirm at {links.to('/warn', url=url)}\n"
        return (
            f"Blocked: {url}\n{decision.reason}\nRule: {decision.rule}\n"
            f"Ask for it to be unblocked at {links.to('/unblock', url=url)}\n"
        )


def _probe(decision: Decision, page: PageResponse | None) -> PageResponse:
    """A self-test probe's answer: the page a browser would get (block, warn, agreement) or
    `204` for an allowed one, with the decision in headers."""
    said = [
        ("X-Schoolgate-Decision", decision.action.value),
        ("X-Schoolgate-Group", decision.group),
        ("X-Schoolgate-Rule", decision.rule or ""),
    ]
    if page is None:
        return PageResponse(204, b"", said)
    return PageResponse(page.status, page.body, [*page.headers, *said])


def _fresh_decision(decider: Decider, subject: Subject, url: str, moment: datetime) -> Decision:
    return decider.decide(subject, _target_of(url), moment)


def _target_of(url: str) -> Target:
    try:
        return parse_target(url)
    except TargetError as exc:
        raise HttpError(400, f"cannot decide on {url[:200]!r}: {exc}") from None


def _host_header(host: str, port: int, *, default_port: int) -> str:
    """The Host an origin is asked under: IPv6 in brackets, the port only when not the default."""
    name = f"[{host}]" if ":" in host else host
    return name if port == default_port else f"{name}:{port}"


async def _exchange(
    upstream: Connection,
    head: bytes,
    client_reader: asyncio.StreamReader,
    framing: Framing,
    length: int,
) -> bytes | None:
    """Send one request upstream and read the response head; None if the connection was stale."""
    up_reader, up_writer = upstream
    try:
        up_writer.write(head)
        await relay_body(client_reader, up_writer, framing, length)
        await up_writer.drain()
        return await read_head(up_reader)
    except ConnectionError:
        return None


def _upstream_request_head(request: Request, authority: str, path: str, framing: Framing) -> bytes:
    headers = [
        h for h in forwardable_headers(request.head) if h[0].lower() not in ("host", "expect")
    ]
    headers.insert(0, ("Host", authority))
    if framing is Framing.CHUNKED:
        headers = [h for h in headers if h[0].lower() != "content-length"]
        headers.append(("Transfer-Encoding", "chunked"))
    headers.append(VIA)
    return encode_head(f"{request.method} {path} HTTP/1.1", headers)


def _absolute_target(target: str) -> tuple[str, str, str, int, str]:
    """`http://host:port/path?q` -> (scheme, authority, host, port, path)."""
    try:
        parts = urlsplit(target)
        port = parts.port
    except ValueError:
        raise HttpError(400, f"malformed request target {target[:200]!r}") from None
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise HttpError(400, f"only http:// URLs are proxied, not {target[:200]!r}")
    authority = parts.netloc.rpartition("@")[2]
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return "http", authority, parts.hostname, port or 80, path


def _connect_authority(target: str) -> tuple[str, int]:
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise HttpError(400, f"CONNECT needs host:port, not {target[:200]!r}")
    return host.lower(), int(port)  # an IPv6 literal keeps its brackets, as a URL needs them


async def _read_small_body(request: Request, reader: asyncio.StreamReader) -> bytes:
    framing, length = request_framing(request.head)
    if framing is Framing.NONE:
        return b""
    if framing is not Framing.LENGTH or length > MAX_FORM_BYTES:
        raise HttpError(413, "forms sent to the gateway pages must be small and not chunked")
    return await reader.readexactly(length)


async def _write_page(writer: asyncio.StreamWriter, request: Request, page: PageResponse) -> bool:
    """Send a page from the gateway; True if the client connection stays open."""
    keep_alive = wants_keep_alive(request.version, request.head)
    writer.write(_page_bytes(request, page, keep_alive))
    await writer.drain()
    return keep_alive


def _page_bytes(request: Request, page: PageResponse, keep_alive: bool) -> bytes:
    length = [] if page.status == 204 else [("Content-Length", str(len(page.body)))]
    headers = [*page.headers, *length, VIA]
    headers.append(("Connection", "keep-alive" if keep_alive else "close"))
    reason = _REASONS.get(page.status, "")
    head = encode_head(f"HTTP/1.1 {page.status} {reason}".rstrip(), headers)
    return head if request.method == "HEAD" else head + page.body


async def _discard_until_closed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Lingering close: end our side, then read and drop the unread upload until the client
    closes (bounded in time and bytes). Closing with unread data would make the kernel send a
    reset, which can destroy the page before the client has read it."""
    with contextlib.suppress(OSError, RuntimeError):
        if writer.can_write_eof():
            writer.write_eof()  # sent once the page has gone out
    discarded = 0
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(LINGER_SECONDS):
            while discarded < LINGER_BYTES and (chunk := await reader.read(TUNNEL_CHUNK)):
                discarded += len(chunk)


async def _send_error(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    body = (message.rstrip("\n") + "\n").encode("utf-8")
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        VIA,
    ]
    reason = _REASONS.get(status, "")
    with contextlib.suppress(ConnectionError, RuntimeError):
        writer.write(encode_head(f"HTTP/1.1 {status} {reason}".rstrip(), headers) + body)
        await writer.drain()


async def _tunnel(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
) -> None:
    async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while chunk := await source.read(TUNNEL_CHUNK):
                sink.write(chunk)
                await sink.drain()
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            sink.close()

    try:
        await asyncio.gather(pump(client_reader, up_writer), pump(up_reader, client_writer))
    finally:
        up_writer.close()


_REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    303: "See Other",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    407: "Proxy Authentication Required",
    413: "Content Too Large",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
