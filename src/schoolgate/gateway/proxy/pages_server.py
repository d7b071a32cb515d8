"""The standalone gateway pages server: agreement, warn, unblock and report pages, and the block
page the DNS resolver sends blocked names to (any request for a host other than its own)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from schoolgate.engine.decide import Subject
from schoolgate.gateway.proxy.http import (
    MAX_HEAD_BYTES,
    HttpError,
    parse_request,
    read_head,
    wants_keep_alive,
)
from schoolgate.gateway.proxy.server import _read_small_body, _send_error, _write_page
from schoolgate.gateway.proxy.webapp import GatewayPages, Visitor

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
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD_BYTES)
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients.values()):
            writer.close()  # the handler then sees the connection end and finishes normally
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    def visitor(self, address: str) -> Visitor:
        subject = self.identify(address) if self.identify is not None else Subject()
        key = f"user:{subject.user}" if subject.user else f"address:{address}"
        return Visitor(key, address, subject.user, subject.group)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = str(writer.get_extra_info("peername")[0])
        task = asyncio.current_task()
        if task is not None:
            self._clients[task] = writer
            task.add_done_callback(lambda done: self._clients.pop(done, None))
        try:
            while data := await asyncio.wait_for(read_head(reader), IDLE_SECONDS):
                request = parse_request(data)
                body = await _read_small_body(request, reader)
                host = (request.head.get("host") or "").lower()
                foreign = host if host and host not in self.own_hosts else None
                target = request.target if request.target.startswith("/") else "/"
                page = await self.pages.handle(
                    request.method, target, body, self.visitor(address), foreign
                )
                await _write_page(writer, request, page, keep_alive=True)
                if not wants_keep_alive(request.version, request.head):
                    break
        except HttpError as exc:
            await _send_error(writer, exc.status, exc.message)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()
