"""The standalone gateway pages server: agreement, warn, unblock and report pages, and the block
page the DNS resolver sends blocked names to (any request for a host other than its own)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable

from schoolgate.engine.decide import Subject
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.proxy.gateway_pages import GatewayPages
from schoolgate.gateway.proxy.http import HttpError, parse_request, read_head
from schoolgate.gateway.proxy.listener import Listener
from schoolgate.gateway.proxy.server import _read_small_body, _send_error, _write_page

IDLE_SECONDS = 30.0


class PagesServer:
    def __init__(
        self,
        pages: GatewayPages,
        own_hosts: set[str],
        identify: Callable[[str], Subject] | None = None,
    ) -> None:
        self.pages = pages
        self.own_hosts = {h.lower() for h in own_hosts}
        self.identify = identify
        self.who = WhoIsAsking(identify)
        self._listener = Listener(self._serve)
        self._tls_listener: Listener | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        return await self._listener.start(host, port)

    async def start_tls(self, context: ssl.SSLContext, host: str, port: int) -> tuple[str, int]:
        """Also serve the pages over HTTPS (the DNS path's block address, port 443), with a
        certificate minted for each name asked for (tls/pages_tls.py)."""
        self._tls_listener = Listener(self._serve)
        return await self._tls_listener.start(host, port, ssl=context)

    async def close(self) -> None:
        await self._listener.close()
        if self._tls_listener is not None:
            await self._tls_listener.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = str(writer.get_extra_info("peername")[0])
        try:
            while data := await asyncio.wait_for(read_head(reader), IDLE_SECONDS):
                request = parse_request(data)
                body = await _read_small_body(request, reader)
                host = (request.head.get("host") or "").lower()
                foreign = host if host and host not in self.own_hosts else None
                target = request.target if request.target.startswith("/") else "/"
                page = await self.pages.handle(
                    request.method,
                    target,
                    body,
                    self.who.visitor(address),
                    foreign,
                    "https" if writer.get_extra_info("ssl_object") else "http",
                )
                if not await _write_page(writer, request, page):
                    break
        except HttpError as exc:
            await _send_error(writer, exc.status, exc.message)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
