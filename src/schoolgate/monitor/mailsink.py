"""A local SMTP sink for the demo and the tests: a real SMTP server (aiosmtpd) on 127.0.0.1.

It accepts every message, keeps it in memory (`messages`) and, given a folder, writes each one
there as a numbered `.eml` file, so `make demo` can show where the monitor's mail went.
Port 0 (the default) picks a free port; `start(port)` again after `stop()` brings the same
server back, which is how the tests take the mail server down and up again.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any


class MailSink:
    def __init__(
        self,
        host: str = "127.0.0.1",
        folder: Path | None = None,
        on_message: Callable[[EmailMessage, list[str]], None] | None = None,
    ) -> None:
        self.host = host
        self.port = 0
        self.folder = folder
        self.on_message = on_message
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._arrived = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None

    def start(self, port: int | None = None) -> tuple[str, int]:
        from aiosmtpd.smtp import SMTP

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        wanted = self.port if port is None else port

        async def serve() -> asyncio.AbstractServer:
            return await self._loop.create_server(
                lambda: SMTP(self, hostname="schoolgate-mail-sink"),
                self.host,
                wanted,
                reuse_address=True,
            )

        self._server = asyncio.run_coroutine_threadsafe(serve(), self._loop).result(10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.host, self.port

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._arrived:
            self.messages.append(message)
            self.recipients.append(list(envelope.rcpt_tos))
            number = len(self.messages)
            self._arrived.notify_all()
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / f"{number:05d}.eml").write_bytes(envelope.content)
        if self.on_message is not None:
            self.on_message(message, list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.messages) >= count, timeout)
