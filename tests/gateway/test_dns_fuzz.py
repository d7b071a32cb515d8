"""Garbled, truncated and hostile packets: dropped or answered FORMERR, never disturbing others."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import dns.message
import dns.query
import dns.rcode
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schoolgate.gateway.dns import wire
from tests.gateway.dns_harness import Gateway
from tests.gateway.policy_fixtures import make_snapshot

GOOD = dns.message.make_query("allowed.example", "A", use_edns=0).to_wire()
BLOCKED = dns.message.make_query("blocked.example", "AAAA").to_wire()


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("fuzz")
    g = Gateway(make_snapshot(tmp), tmp / "journal", timeout=0.3, retries=0)
    yield g
    g.close()


def mutations() -> st.SearchStrategy[bytes]:
    """Real queries with bytes flipped, cut short or extended, and pure noise."""
    base = st.sampled_from([GOOD, BLOCKED])

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(base))
        for _ in range(draw(st.integers(1, 6))):
            index = draw(st.integers(0, len(data) - 1))
            data[index] = draw(st.integers(0, 255))
        cut = draw(st.integers(0, len(data)))
        return bytes(data[:cut]) + draw(st.binary(max_size=8))

    return st.one_of(mutated(), st.binary(max_size=600))


@settings(max_examples=2000, deadline=None)
@given(mutations())
def test_parser_accepts_or_raises_wire_error_only(data: bytes) -> None:
    try:
        query = wire.parse_query(data)
    except wire.WireError as exc:
        assert exc.rcode in (None, wire.FORMERR, wire.NOTIMP)
        answer = wire.header_only_error(data, exc.rcode) if exc.rcode is not None else None
        if answer is not None:
            assert answer[:2] == data[:2] and len(answer) == 12
        return
    answer = wire.response(query, wire.NOERROR)
    assert dns.message.from_wire(answer).id == query.id


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(packets=st.lists(mutations(), min_size=1, max_size=10))
def test_server_keeps_answering_good_queries_after_garbage(
    gateway: Gateway, packets: list[bytes]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sent: set[int] = set()
        for packet in packets:
            sock.sendto(packet, ("127.0.0.1", gateway.port))
            if len(packet) >= 12:
                # A reply may come late (after the upstream answered), so any ID sent so far counts.
                sent.add(int.from_bytes(packet[:2], "big"))
                _maybe_read_formerr(sock, sent)
    reply = dns.query.udp(
        dns.message.make_query("blocked.example", "A"), "127.0.0.1", port=gateway.port, timeout=2
    )
    assert [r.to_text() for r in reply.answer[0]] == ["127.0.0.1"]


def _maybe_read_formerr(sock: socket.socket, sent: set[int]) -> None:
    """Replies to garbage must be well-formed DNS echoing the sender's ID."""
    sock.settimeout(0.01)
    try:
        while True:
            data, _ = sock.recvfrom(65535)
            reply = dns.message.from_wire(data, question_only=True)
            assert reply.id in sent or reply.id in _ids()
    except TimeoutError:
        pass
    finally:
        sock.settimeout(2)


def _ids() -> tuple[int, ...]:
    return (int.from_bytes(GOOD[:2], "big"), int.from_bytes(BLOCKED[:2], "big"))


def test_hostile_tcp_frames_do_not_disturb_udp_clients(gateway: Gateway) -> None:
    async def hostile() -> None:
        _reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(b"\xff\xff" + b"\x00" * 100)  # promises 65535 bytes, sends 100
        await writer.drain()
        other_reader, other = await asyncio.open_connection("127.0.0.1", gateway.port)
        other.write(len(b"junk").to_bytes(2, "big") + b"junk")
        await other.drain()
        assert await other_reader.read() == b""  # dropped packet closes that connection
        other.close()
        writer.close()

    gateway.call(hostile())
    reply = dns.query.udp(
        dns.message.make_query("allowed.example", "A"), "127.0.0.1", port=gateway.port, timeout=2
    )
    assert reply.rcode() == dns.rcode.NOERROR


def test_formerr_for_two_questions_and_notimp_for_other_opcodes(gateway: Gateway) -> None:
    two = bytearray(GOOD)
    two[5] = 2
    notify = bytearray(GOOD)
    notify[2] |= 4 << 3
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(bytes(two), ("127.0.0.1", gateway.port))
        assert dns.message.from_wire(sock.recv(512)).rcode() == dns.rcode.FORMERR
        sock.sendto(bytes(notify), ("127.0.0.1", gateway.port))
        assert dns.message.from_wire(sock.recv(512)).rcode() == dns.rcode.NOTIMP
        response_packet = bytearray(GOOD)
        response_packet[2] |= 0x80  # a response: dropped, never reflected
        sock.sendto(bytes(response_packet), ("127.0.0.1", gateway.port))
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.recv(512)


@given(st.lists(st.from_regex(r"[a-z0-9-]{1,63}", fullmatch=True), min_size=1, max_size=4))
def test_names_round_trip(labels: list[str]) -> None:
    encoded = wire.encode_name(".".join(labels))
    assert wire.read_name(encoded, 0) == (encoded, len(encoded))
    assert wire.name_text(encoded) == ".".join(labels)
