"""The DNS fast lane's upstream side (issue 9, `gateway/dns/fastlane.py`): what it forwards,
relays, caches and hands back must leave the upstream asked, the cache filled and the client
answered exactly as the handler chain alone would. Each test runs the same queries with the lane
on and off (`SCHOOLGATE_DNS_FAST_LANE`) against a real local upstream."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schoolgate.engine.lists.index import sha256
from schoolgate.gateway.dns import fastlane
from schoolgate.gateway.journal_events import DecisionEncoder
from tests.gateway import dns_harness
from tests.gateway.dns_harness import Gateway
from tests.gateway.policy_fixtures import make_snapshot

pytestmark = pytest.mark.skipif(not fastlane.available(), reason="the fast lane is not built")


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """run(queries, **gateway options) -> {"on": result, "off": result}; a result has the
    answers (wire, ID fixed), the upstream's log, the cache's keys in order and the counts."""
    started: list[Gateway] = []

    def both(queries: list[tuple[str, str]], hashed=(), **options) -> dict[str, dict]:
        results = {}
        for lane in ("on", "off"):
            monkeypatch.setenv(fastlane.SWITCH, "1" if lane == "on" else "0")
            snapshot = make_snapshot(tmp_path / f"{lane}{len(started)}")
            for key, category in hashed:
                snapshot.index.add_hash(sha256(key), category)
            g = Gateway(snapshot, tmp_path / f"journal-{lane}{len(started)}", **dict(options))
            started.append(g)
            answers = [_ask(g, name, rtype) for name, rtype in queries]
            results[lane] = {
                "answers": answers,
                "asked": list(g.upstream_server.received),
                "cached": g.run(lambda g=g: list(g.upstream.cache.entries)),
                "counts": g.server.fast_lane_counts(),
                "waiting": g.run(
                    lambda g=g: sum(u.lane.lane.waiting() for u in g.server.udp if u.lane)
                ),
            }
        return results

    yield both
    for g in started:
        g.close()


def _ask(g: Gateway, name: str, rtype: str) -> bytes:
    query = dns.message.make_query(name, rtype, use_edns=0, payload=4096)
    query.id = 4321
    return dns.query.udp(query, "127.0.0.1", port=g.port, timeout=10).to_wire()


def test_relayed_answers_fill_the_cache_as_the_chain_does(run) -> None:
    # The first name of a kind is the chain's (the lane learns from it); then the lane forwards.
    names = [f"n{i}.nothing.example" for i in (1, 2, 3, 2, 2, 1)]
    result = run([(name, "A") for name in names], cache_entries=2)
    on, off = result["on"], result["off"]
    assert on["answers"] == off["answers"]
    assert all(dns.message.from_wire(a).rcode() == dns.rcode.NXDOMAIN for a in on["answers"])
    assert on["asked"] == off["asked"]  # cached answers are not asked for again, in both
    assert on["cached"] == off["cached"]  # same entries, same LRU order, same cap
    assert on["counts"]["fast"] >= 3 and off["counts"] == {"fast": 0, "punted": 0}
    assert on["waiting"] == 0


def test_identical_queries_in_flight_are_sent_once(tmp_path: Path, monkeypatch) -> None:
    """Two clients asking the same name in one batch: one query upstream, both answered with
    their own ID and question, as `Upstream.ask` does."""
    asked = {}
    for lane in ("on", "off"):
        monkeypatch.setenv(fastlane.SWITCH, "1" if lane == "on" else "0")
        g = Gateway(make_snapshot(tmp_path / lane), tmp_path / f"journal-{lane}", timeout=5)
        try:
            _ask(g, "warm.nothing.example", "A")  # the lane learns this kind of name
            sockets = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
            for number, sock in enumerate(sockets):
                query = dns.message.make_query(
                    "same.nothing.example" if number < 2 else "SAME.nothing.example", "A"
                )
                query.id = 1000 + number
                sock.sendto(query.to_wire(), ("127.0.0.1", g.port))
            for number, sock in enumerate(sockets):
                sock.settimeout(5)
                answer = dns.message.from_wire(sock.recv(4096))
                assert answer.id == 1000 + number and answer.rcode() == dns.rcode.NXDOMAIN
                assert (
                    answer.question[0].name.to_text().startswith("SAME" if number == 2 else "same")
                )
                sock.close()
            asked[lane] = g.upstream_server.received.count("same.nothing.example. A")
            counts = g.server.fast_lane_counts()
            # the first is the lane's; the others join it, or (when the answer came first) are
            # the chain's from its cache: either way the upstream is asked once
            assert counts["fast"] >= 1 if lane == "on" else counts["fast"] == 0
        finally:
            g.close()
    assert asked == {"on": 1, "off": 1}


def test_a_silent_upstream_costs_the_same_attempts(run) -> None:
    names = ["n1.nothing.example", "n2.nothing.example"]
    started = time.monotonic()
    result = run([(name, "A") for name in names], upstream_silent=True, timeout=0.2, retries=1)
    assert time.monotonic() - started < 8
    on, off = result["on"], result["off"]
    for answer in on["answers"]:
        assert dns.message.from_wire(answer).rcode() == dns.rcode.SERVFAIL
    assert on["answers"] == off["answers"]
    # the lane's attempt counts as Upstream's first: first try plus one retry, as without it
    assert (
        on["asked"].count("n2.nothing.example. A")
        == 2
        == off["asked"].count("n2.nothing.example. A")
    )
    assert on["counts"]["fast"] >= 1 and on["waiting"] == 0


def test_hashed_lists_are_looked_up_by_each_suffix(run) -> None:
    """An IWF-style list keeps only SHA-256 digests: the lane hashes each suffix but the
    top-level one, as `index.hash_candidates` does for a host."""
    hashed = [("hashed.example", "pornography"), ("games.test", "games")]
    names = ["a.hashed.example", "b.hashed.example", "hashed.example", "c.other.example"]
    names += ["x.games.test", "y.games.test", "games.test", "test"]
    result = run([(name, "A") for name in names], hashed=hashed)
    on, off = result["on"], result["off"]
    assert on["answers"] == off["answers"]
    blocked = [dns.message.from_wire(a).flags & dns.flags.AA != 0 for a in on["answers"]]
    assert blocked == [True, True, True, False, True, True, True, False]
    assert on["counts"]["fast"] >= 4


def _records(answer: bytes) -> tuple:
    """The answer's header fields and records, in any order (the local upstream's TXT records
    come in no fixed order)."""
    message = dns.message.from_wire(answer)
    records = sorted(r.to_text() for rrset in message.answer for r in rrset)
    return message.id, message.flags, message.rcode(), str(message.question), records


def test_a_truncated_answer_is_fetched_over_tcp(run, monkeypatch: pytest.MonkeyPatch) -> None:
    big = {"TXT": [f'"{"y" * 200} {i}"' for i in range(10)]}
    monkeypatch.setitem(dns_harness.ZONE, "a.big.example.", big)
    monkeypatch.setitem(dns_harness.ZONE, "b.big.example.", big)
    result = run([("a.big.example", "TXT"), ("b.big.example", "TXT")])
    on, off = result["on"], result["off"]
    assert [_records(a) for a in on["answers"]] == [_records(a) for a in off["answers"]]
    assert len(dns.message.from_wire(on["answers"][1]).answer[0]) == 10
    assert on["asked"] == off["asked"] == ["a.big.example. TXT"] * 2 + ["b.big.example. TXT"] * 2
    assert on["counts"]["fast"] >= 1


def test_an_entry_that_would_differ_stays_with_the_chain(
    run, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = DecisionEncoder.fragments

    def wrong_group(self, decision, target):
        group, tail = real(self, decision, target)
        return group.replace(b'"pupils"', b'"staff"'), tail

    monkeypatch.setattr(DecisionEncoder, "fragments", wrong_group)
    names = [f"{i}.blocked.example" for i in "abcd"]
    result = run([(name, "A") for name in names])
    on, off = result["on"], result["off"]
    assert on["answers"] == off["answers"]
    assert on["counts"]["fast"] == 0  # every one answered by the chain: nothing learnt


_HEADERS = st.sampled_from(
    [b"", bytes.fromhex("abcd01000001000000000000"), bytes.fromhex("abcd01000001000000000001")]
)


@settings(max_examples=600, deadline=None)
@given(head=_HEADERS, body=st.binary(min_size=0, max_size=300))
def test_garbled_packets_are_refused_by_the_parser_never_crash_it(head: bytes, body: bytes) -> None:
    """Random bytes after a plausible header: the C parser refuses them (ValueError) or answers
    that very query; a crash would take the test run down with it."""
    packet = head + body
    lane = fastlane._fastlane.Lane(-1, [])
    slot = (b'"127.0.0.1","user":null,"group":', {})
    entry = (fastlane._fastlane.KIND_BLOCK, b'"pupils","target":', b',"reason":"', b'"')
    try:
        answer, payload = lane.render(packet, slot, entry, 1_700_000_000, 0)
    except ValueError:
        return
    assert answer[:2] == packet[:2] and answer[2] & 0x80  # an answer to this query
    assert payload.startswith(b"2023-11-14T22:13:20.000000")
    assert b',"extra":{"qtype":' in payload and payload.endswith(b"}}")
