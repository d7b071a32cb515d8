"""A local TCP listener that remembers its open client connections, so closing it ends them all
(keep-alive ones included) instead of waiting for idle clients to go away.
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
from collections.abc import Awaitable, Callable

from schoolgate.gateway.proxy.http import MAX_HEAD_BYTES

ClientHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
CLOSE_WAIT_SECONDS = 5.0


class Listener:
    def __init__(self, handle_client: ClientHandler) -> None:
        self.handle_client = handle_client
        self._server: asyncio.Server | None = None
        self._clients: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(
        self, host: str, port: int, ssl: ssl_module.SSLContext | None = None
    ) -> tuple[str, int]:
        """Listen (port 0: any free port), with TLS if `ssl` is given; return the address."""
        self._server = await asyncio.start_server(
            self._serve, host, port, limit=MAX_HEAD_BYTES, ssl=ssl
        )
        address = self._server.sockets[0].getsockname()
        return address[0], address[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients.values()):
            writer.close()  # the handler then sees the connection end and finishes normally
        if self._clients:
            await asyncio.wait(list(self._clients), timeout=CLOSE_WAIT_SECONDS)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients[task] = writer
            task.add_done_callback(lambda done: self._clients.pop(done, None))
        await self.handle_client(reader, writer)
