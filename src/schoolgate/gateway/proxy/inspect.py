"""HTTPS inspection in the proxy, optional and off by default (docs/https-limits.md).

When the site configures a school CA (`proxy.tls_ca_dir`), a `CONNECT` is answered with a TLS
session the gateway terminates itself — with a leaf certificate for that host minted by the
school CA (`tls/mint.py`) — in two cases:

- the policy inspects the host (`https.enabled` and `https.inspect`): each request inside is
  decided on its full URL, so search terms reach the keyword libraries, the journal and the
  alerts, and safe search is set by parameter; allowed requests go on to the origin over a
  second TLS connection verified against the system's roots (`tls/upstream.py`). An origin
  whose certificate fails verification is never contacted further: the user gets a page that
  says what was wrong;
- the `CONNECT` is refused (block, warn, agreement): the session serves the school's page for
  that host, which a browser shows only when it trusts the school CA.

Hosts the policy never inspects (banking, health, government, pinned apps, support services,
`never_inspect`) are never decrypted, not even for a block page: they are tunnelled, or refused
with the plain 403 as before.

Requirement ids: STM-079 / STM-210 / CAV-027 / HG-084 (use is monitored and users are told),
SH-024 and TM-006 (search terms), STM-154 (block pages), SH-097 (safe search).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from schoolgate.engine.decide import Decider, Decision
from schoolgate.engine.inspection import InspectChoice, InspectionPlan
from schoolgate.engine.policy.schema import ALL_GROUPS, Action
from schoolgate.engine.safe_search_url import enforce_safe_search
from schoolgate.gateway.journal_events import happening_record
from schoolgate.gateway.proxy.gateway_pages import Visitor
from schoolgate.gateway.proxy.http import (
    Framing,
    Head,
    HttpError,
    Request,
    parse_request,
    read_head,
    request_framing,
)
from schoolgate.gateway.proxy.pages import PageResponse, message_page, warn_page
from schoolgate.gateway.proxy.upstream import Address, Connection, UpstreamPool
from schoolgate.gateway.tls.mint import LeafMinter
from schoolgate.gateway.tls.upstream import UpstreamCertificateError, open_tls

if TYPE_CHECKING:
    from schoolgate.gateway.proxy.server import ProxyServer

log = logging.getLogger(__name__)

ESTABLISHED = b"HTTP/1.1 200 Connection established\r\nVia: 1.1 schoolgate\r\n\r\n"
HANDSHAKE_SECONDS = 15.0
IDLE_SECONDS = 60.0
SESSION_PAGES = "/.well-known/schoolgate"
"""Inside a terminated session, paths under this prefix are the gateway's pages, not the site's."""


class HttpsInspector:
    def __init__(
        self,
        minter: LeafMinter,
        upstream_context: ssl.SSLContext,
        decider: Callable[[], Decider],
    ) -> None:
        self.minter = minter
        self.upstream_context = upstream_context
        self.decider = decider
        self.pool = UpstreamPool()
        """Idle verified TLS connections, keyed by the origin's name (not its address)."""
        self._plan: tuple[Decider, InspectionPlan] | None = None

    def plan(self) -> InspectionPlan:
        decider = self.decider()
        if self._plan is None or self._plan[0] is not decider:
            self._plan = (decider, InspectionPlan(decider.snapshot))
        return self._plan[1]

    def terminates(self, host: str, refused: bool) -> InspectChoice | None:
        """The choice to terminate TLS for this `CONNECT`, or None to leave it alone."""
        choice = self.plan().choice(host)
        if choice.protected:
            return None
        if choice.inspect:
            return choice
        if refused:
            return InspectChoice(True, "refused: the school's page is shown over HTTPS")
        return None

    def close(self) -> None:
        self.pool.close()

    async def serve(
        self,
        server: ProxyServer,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        visitor: Visitor,
        host: str,
        port: int,
    ) -> None:
        """Answer the `CONNECT`, terminate TLS as `host`, then handle requests until done."""
        writer.write(ESTABLISHED)
        await writer.drain()
        try:
            async with asyncio.timeout(HANDSHAKE_SECONDS):
                await writer.start_tls(self.minter.context_for(host.strip("[]")))
        except (ssl.SSLError, ConnectionError, TimeoutError, OSError):
            # Most often: a device that does not trust the school CA. Its browser shows a
            # certificate error, which is all that can be shown without the CA.
            return
        session = _Session(server, self, visitor, host, port)
        try:
            while True:
                async with asyncio.timeout(IDLE_SECONDS):
                    data = await read_head(reader)
                if data is None:
                    break
                if not await session.handle(parse_request(data), reader, writer):
                    break
        except HttpError as exc:
            await server_error(writer, exc.status, exc.message)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass


class _Session:
    """The requests of one terminated `CONNECT`: decided one by one on their full URL."""

    def __init__(
        self,
        server: ProxyServer,
        inspector: HttpsInspector,
        visitor: Visitor,
        host: str,
        port: int,
    ) -> None:
        self.server = server
        self.inspector = inspector
        self.visitor = visitor
        self.host = host
        self.port = port
        self.authority = host if port == 443 else f"{host}:{port}"

    async def handle(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        server = self.server
        if request.method == "CONNECT":
            raise HttpError(400, "CONNECT inside a tunnel is not allowed")
        path = _origin_path(request.target)
        url, extra_headers = self._safe_search(f"https://{self.authority}{path}")
        path = url.split(self.authority, 1)[1] or "/"
        if path.startswith(SESSION_PAGES + "/"):
            return await self._session_page(request, reader, writer, path)
        decision = server._decide(self.visitor, url, request.method, self.visitor.address)
        page = self._warn_page(decision, url) or server.pages.response_for(
            decision, url, self.visitor
        )
        if page is not None:
            return await server._reply_without_body(request, reader, writer, page)
        if extra_headers:
            request = Request(
                request.method,
                request.target,
                request.version,
                Head([*request.head.headers, *extra_headers]),
            )
        return await self._forward(request, reader, writer, path, url)

    def _warn_page(self, decision: Decision, url: str) -> PageResponse | None:
        """A warn page whose click-through posts inside this session (same origin, HTTPS),
        not to the plain-HTTP pages server, which browsers would flag as an insecure form."""
        pages = self.server.pages
        if decision.action is not Action.WARN or decision.rule == "agreement-required":
            return None
        if pages.passes.has(self.visitor.key, decision.target.split("/", 1)[0]):
            return None
        proceed = f"https://{self.authority}{SESSION_PAGES}/proceed"
        reader = pages.reader(decision)
        return warn_page(
            pages.school, decision, url, pages.links, self.visitor.key, reader, proceed
        )

    async def _session_page(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        path: str,
    ) -> bool:
        """The gateway's own pages under a reserved path of the terminated host (the warn
        page's click-through posts here)."""
        from schoolgate.gateway.proxy.server import _read_small_body, _write_page

        body = await _read_small_body(request, reader)
        route = path.removeprefix(SESSION_PAGES)
        page = await self.server.pages.handle(request.method, route, body, self.visitor)
        return await _write_page(writer, request, page)

    def _safe_search(self, url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
        decider = self.server.decider()
        policy = decider.policy
        group_id = self.visitor.group or decider.default_group
        groups = policy.safe_search.groups
        try:
            group_wants = policy.group(group_id).safe_search
        except KeyError:
            group_wants = True
        if not group_wants or (ALL_GROUPS not in groups and group_id not in groups):
            return url, ()
        rewrite = enforce_safe_search(url, policy.safe_search.youtube)
        return rewrite.url, rewrite.headers

    async def _forward(
        self,
        request: Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        path: str,
        url: str,
    ) -> bool:
        from schoolgate.gateway.proxy.server import _exchange, _upstream_request_head

        server, inspector = self.server, self.inspector
        framing, length = request_framing(request.head)
        head = _upstream_request_head(request, self.authority, path, framing)
        if "100-continue" in request.head.tokens("expect") and request.version == "HTTP/1.1":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        key = Address(self.host, self.port)
        upstream = inspector.pool.take_idle(key)
        retry_allowed = upstream is not None and framing is Framing.NONE
        try:
            if upstream is None:
                upstream = await self._open()
            response_head = await _exchange(upstream, head, reader, framing, length)
            if response_head is None and retry_allowed:
                upstream[1].close()
                upstream = await self._open()
                response_head = await _exchange(upstream, head, reader, framing, length)
        except UpstreamCertificateError as exc:
            page = self._certificate_page(url, exc)
            return await server._reply_without_body(request, reader, writer, page)
        except (OSError, TimeoutError, ssl.SSLError) as exc:
            if upstream is not None:
                upstream[1].close()
            raise HttpError(502, f"cannot reach {self.authority}: {exc}") from None
        if response_head is None:
            upstream[1].close()
            raise HttpError(502, f"{self.authority} closed the connection without answering")
        return await server._relay_response(
            request, writer, upstream, response_head, key, pool=inspector.pool
        )

    async def _open(self) -> Connection:
        address = self.server.pool.address(self.host.strip("[]"), self.port)
        return await open_tls(address, self.host, self.inspector.upstream_context)

    def _certificate_page(self, url: str, exc: UpstreamCertificateError) -> PageResponse:
        journal = self.server.journal
        if journal is not None:
            journal.append(_certificate_event(self.visitor, url, exc.problem))
            journal.hand_over()  # in the OS before the page goes out
        message = (
            f"The school's filter did not open {url} because {exc.problem}. Someone could be "
            "pretending to be this site, or it is set up wrongly, so nothing was sent to it. "
            "If you need this site for school work, tell a member of staff."
        )
        return message_page(self.server.pages.school, "This site is not safe to open", message, 502)


def _origin_path(target: str) -> str:
    """The path and query of a request inside the session (origin form, or absolute form)."""
    if target.startswith("/"):
        return target
    if target == "*":
        raise HttpError(400, "OPTIONS * is not supported inside an inspected session")
    parts = urlsplit(target)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise HttpError(400, f"malformed request target {target[:200]!r}")
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _certificate_event(visitor: Visitor, url: str, problem: str) -> dict[str, Any]:
    return happening_record(
        "upstream-certificate-refused",
        source="proxy",
        address=visitor.address,
        user=visitor.user,
        group=visitor.group,
        target=url,
        extra={"problem": problem},
    )


async def server_error(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    from schoolgate.gateway.proxy.server import _send_error

    await _send_error(writer, status, message)
