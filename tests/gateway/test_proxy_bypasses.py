"""Bypasses found by probing the proxy as an attacker would (issue 9), each with its family:
the proxy decides on, and connects to, exactly one normalised name."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from schoolgate.engine.decide import Decider
from tests.gateway.proxy_support import POLICY, running_origin, running_proxy, test_snapshot

# Pupils' block list gains an IPv4 address and the IDNA 2003 spelling of a German host name.
BLOCKING_POLICY = POLICY.replace(
    "sites: [blocked.test]", "sites: [blocked.test, 127.0.0.1, strasse.test]"
)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(test_snapshot(BLOCKING_POLICY))


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.mark.parametrize(
    "literal",
    ["[::ffff:127.0.0.1]", "[::ffff:7f00:1]", "[0:0:0:0:0:ffff:7f00:0001]", "[::127.0.0.1]"],
)
def test_ipv4_mapped_ipv6_literal_of_a_blocked_address_is_blocked(
    tmp_path: Path, decider, literal: str
) -> None:
    """Issue 9 (1): the IPv4 list entry must catch the address behind an IPv6 literal."""
    with running_origin() as origin, running_proxy(tmp_path, lambda: decider) as proxy:
        answer = exchange(
            proxy.port,
            f"GET http://{literal}:{origin.port}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
        )
        assert answer.startswith(b"HTTP/1.1 403"), answer[:80]
        assert b"blocked-for-pupils" in answer
        assert origin.seen == []


def test_connect_to_a_mapped_literal_of_a_blocked_address_is_refused(tmp_path, decider) -> None:
    with running_proxy(tmp_path, lambda: decider, connect_ports=frozenset({443})) as proxy:
        answer = exchange(proxy.port, b"CONNECT [::ffff:127.0.0.1]:443 HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 403"), answer[:80]


@pytest.mark.parametrize(
    "request_head",
    [
        "GET http://straße.test/x HTTP/1.1\r\nHost: straße.test\r\n".encode("latin-1"),
        b"GET http://stra%C3%9Fe.test/x HTTP/1.1\r\nHost: x\r\n",
    ],
    ids=["raw-latin-1", "percent-encoded"],
)
def test_the_host_connected_to_is_the_host_decided_on(
    tmp_path: Path, decider, request_head: bytes
) -> None:
    """Issue 9 (2): `straße` is `xn--strae-oqa` to the decider (UTS 46) but `strasse` to
    Python's IDNA 2003 codec; the origin must be asked for the name that was decided on."""
    with running_origin() as origin:
        hosts = {"*.test": f"127.0.0.1:{origin.port}"}
        with running_proxy(tmp_path, lambda: decider, hosts=hosts) as proxy:
            answer = exchange(proxy.port, request_head + b"Connection: close\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 200"), answer[:80]
        assert origin.seen[0]["headers"]["Host"] == "xn--strae-oqa.test"


def test_the_idna_2003_spelling_is_still_blocked(tmp_path: Path, decider) -> None:
    with running_origin() as origin:
        hosts = {"*.test": f"127.0.0.1:{origin.port}"}
        with running_proxy(tmp_path, lambda: decider, hosts=hosts) as proxy:
            answer = exchange(proxy.port, b"GET http://STRASSE.test/ HTTP/1.1\r\nHost: x\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 403")
        assert origin.seen == []


@pytest.mark.parametrize("host", ["08.0.0.5", "09.1", "0.0.0.09", "1.2.3.08"])
def test_bad_octal_addresses_get_a_400_that_says_why(tmp_path: Path, decider, host) -> None:
    """Issue 9 (7): `08.0.0.5` gave a 500 with a traceback."""
    with running_proxy(tmp_path, lambda: decider) as proxy:
        answer = exchange(proxy.port, f"GET http://{host}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 400"), answer[:80]
    assert b"not a valid IPv4 address" in answer
    assert b"Traceback" not in answer


@contextmanager
def ipv6_listener() -> Iterator[int]:
    """A TCP server on [::1] that answers `hello` to whoever connects."""
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.bind(("::1", 0))
    server.listen()
    port = server.getsockname()[1]

    def serve() -> None:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            conn.sendall(b"hello")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        server.close()


def test_connect_to_an_ipv6_literal_opens_a_tunnel(tmp_path: Path, decider) -> None:
    """Issue 9 (9): `CONNECT [::1]:443` lost its brackets and was refused with a 400."""
    if not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    with (
        ipv6_listener() as port,
        running_proxy(tmp_path, lambda: decider, connect_ports=frozenset({port})) as proxy,
    ):
        answer = exchange(proxy.port, f"CONNECT [::1]:{port} HTTP/1.1\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 Connection established"), answer[:80]
    assert answer.endswith(b"hello")
