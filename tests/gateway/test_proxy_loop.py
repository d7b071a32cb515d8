"""The proxy's event loop choice: uvloop (the `fast` extra, also in `dev`) or the standard loop,
and the proxy answering real requests on either."""

from __future__ import annotations

import asyncio
import sys

import pytest

from schoolgate.engine.decide import Decider
from schoolgate.gateway.proxy import loop
from schoolgate.gateway.proxy.assemble import build_gateway
from schoolgate.gateway.site import ProxySiteSettings
from tests.gateway.proxy_support import test_snapshot


def test_asyncio_means_the_standard_loop():
    assert loop.loop_factory("asyncio") is None


async def _blocked_page_status(tmp_path) -> tuple[str, bytes]:
    decider = Decider(test_snapshot())
    settings = ProxySiteSettings(
        listen="127.0.0.1:0", pages_listen="127.0.0.1:0", state_dir=tmp_path
    )
    gateway = build_gateway(settings, lambda: decider)
    proxy_address, _ = await gateway.start(settings)
    host, port = proxy_address.rsplit(":", 1)
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(b"GET http://blocked.test/ HTTP/1.1\r\nHost: blocked.test\r\n\r\n")
        status_line = await reader.readline()
        writer.close()
    finally:
        await gateway.close()
    return loop.loop_name(), status_line


@pytest.mark.parametrize("choice", ["asyncio", "uvloop"])
def test_the_proxy_blocks_on_either_loop(tmp_path, choice):
    result: list[tuple[str, bytes]] = []

    async def main() -> None:
        result.append(await _blocked_page_status(tmp_path))

    loop.run(main(), choice)  # type: ignore[arg-type]
    assert result == [(choice, b"HTTP/1.1 403 Forbidden\r\n")]


def test_asking_for_a_missing_uvloop_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import now fails
    with pytest.raises(loop.LoopUnavailableError, match="uvloop is not installed"):
        loop.loop_factory("uvloop")
    assert loop.loop_factory("auto") is None
