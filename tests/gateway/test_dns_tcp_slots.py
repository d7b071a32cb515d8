"""DNS over TCP stays open to every device while one holds many idle connections (issue 9, 8)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dns.message
import dns.query
import pytest

from schoolgate.gateway.dns.tcp_slots import TcpSlots
from tests.gateway.dns_harness import Gateway
from tests.gateway.policy_fixtures import make_snapshot


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    started: list[Gateway] = []

    def run(**options) -> Gateway:
        snapshot = make_snapshot(tmp_path / f"g{len(started)}", "block-page", "strict")
        started.append(Gateway(snapshot, None, **options))
        return started[-1]

    yield run
    for g in started:
        g.close()


def hold_idle(stack: ExitStack, port: int, source: str, count: int) -> None:
    for _ in range(count):
        sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        sock.bind((source, 0))
        sock.connect(("127.0.0.1", port))


def wait_for_slots(g: Gateway, count: int) -> None:
    deadline = time.monotonic() + 10
    while g.run(lambda: len(g.server.tcp_slots)) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def ask_tcp(g: Gateway, source: str) -> dns.message.Message:
    query = dns.message.make_query("allowed.example", "A")
    return dns.query.tcp(query, "127.0.0.1", port=g.port, timeout=5, source=source)


def test_one_client_with_512_idle_connections_does_not_lock_others_out(start) -> None:
    g = start()
    with ExitStack() as stack:
        hold_idle(stack, g.port, "127.0.0.1", 512)
        wait_for_slots(g, 16)
        time.sleep(0.2)  # let the server see (and close) the rest
        assert g.run(lambda: len(g.server.tcp_slots)) == 16
        assert ask_tcp(g, "127.0.0.2").answer


def test_when_every_slot_is_taken_the_longest_idle_connection_makes_room(start) -> None:
    g = start(tcp_slots=TcpSlots(total=8, per_client=4))
    with ExitStack() as stack:
        hold_idle(stack, g.port, "127.0.0.3", 4)
        wait_for_slots(g, 4)
        hold_idle(stack, g.port, "127.0.0.4", 4)
        wait_for_slots(g, 8)
        assert ask_tcp(g, "127.0.0.5").answer
        assert ask_tcp(g, "127.0.0.6").answer


def test_slot_accounting() -> None:
    class Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

    slots = TcpSlots(total=3, per_client=2)
    a1, a2, a3, b1, c1 = Conn(), Conn(), Conn(), Conn(), Conn()
    assert slots.admit("a", a1) and slots.admit("a", a2)
    assert not slots.admit("a", a3)  # a's share is two
    assert slots.admit("b", b1)
    slots.touch(a1)  # a2 is now the one idle longest
    assert slots.admit("c", c1)
    assert a2.closed and not a1.closed and len(slots) == 3
    slots.release(a2)  # its handler's own release after the eviction changes nothing
    assert len(slots) == 3
    assert slots.admit("a", a3)  # a holds one again, so it may open another
