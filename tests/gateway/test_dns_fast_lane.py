"""The DNS fast lane answers and journals exactly what the Python handler chain does (issue 9).

The C lane (`gateway/dns/_fastlane.c`) decides, journals, blocks and forwards plain queries on
its own and punts everything else to the chain, which stays the reference. Every test here runs
the same queries, from the same client addresses, through a resolver with the lane on and one
with it off (`fast_lane_support.LanePair`: same policy, each its own real local upstream and
journal) and holds them to the same answer bytes (fixed IDs), the same journal records (all
fields but `at`) and the same queries sent upstream. Where the lane should do the work, its
`fast_lane_counts()["fast"]` must grow, so a lane that silently punts everything fails.

The policy (`fast_lane_support.POLICY`) is modelled on Thomas Mills (TM-006 inappropriate
content for all, TM-057/TM-005 gaming blocked in school hours and warned outside them, TM-004
and St Thomas More's STM-228 no agreement, no access), with site lists and safe search.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dns.edns
import dns.flags
import dns.message
import dns.rcode
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.dns import resolver as resolver_module
from schoolgate.gateway.dns import server as server_module
from schoolgate.gateway.dns.safesearch import SafeSearch
from schoolgate.gateway.dns.server import load_doh_domains
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.proxy.records import SignatureStore
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import BlockPage, Subnet
from tests.gateway.fast_lane_support import (
    GAMBLING,
    LANE_API,
    NEWCOMER,
    POLICY,
    PUPIL,
    SIXTH_FORM,
    STAFF,
    SUBNETS,
    FakeClock,
    LanePair,
    make_snapshot,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TUESDAY_LESSON = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)  # London is on GMT in March
QID = 0x5A5A
COOKIE = dns.edns.GenericOption(10, bytes(range(8)))  # an RFC 7873 client cookie
PROBE = dns.edns.GenericOption(65432, b"")  # wire.SELFTEST_OPTION
EDNS: dict[str, dict[str, Any]] = {
    "plain": {},
    "edns": {"use_edns": 0},
    "do": {"use_edns": 0, "want_dnssec": True},
    "cookie": {"use_edns": 0, "options": [COOKIE]},
    "4096": {"use_edns": 0, "payload": 4096},
}
VARIANTS: dict[str, dict[str, Any]] = {
    **EDNS,
    "no RD": {"flags": 0},
    "AD and CD": {"flags": dns.flags.RD | dns.flags.AD | dns.flags.CD, "use_edns": 0},
    "EDNS version 1": {"use_edns": 1},
    "payload 256": {"use_edns": 0, "payload": 256},
}
BLOCK_PAGE = BlockPage(ipv4="10.9.9.9", ipv6="fd00::9")


def query(name: str, rtype: str = "A", **edns: Any) -> bytes:
    message = dns.message.make_query(name, rtype, **edns)
    message.id = QID
    return message.to_wire()


def raw(labels: list[bytes], qtype: int = 1, qclass: int = 1, *, flags: int = 0x0100) -> bytes:
    """A query built byte by byte, for names and headers dnspython would not write."""
    name = b"".join(bytes([len(label)]) + label for label in labels) + b"\x00"
    return struct.pack(">HHHHHH", QID, flags, 1, 0, 0, 0) + name + struct.pack(">HH", qtype, qclass)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The server reads this clock (a Tuesday lesson) for every batch: decisions by the minute."""
    fake = FakeClock(TUESDAY_LESSON)
    monkeypatch.setattr(server_module, "datetime", fake)
    monkeypatch.setattr(resolver_module, "datetime", fake)
    return fake


@pytest.fixture
def lanes(tmp_path: Path, clock: FakeClock) -> Iterator[Callable[..., LanePair]]:
    started: list[LanePair] = []

    def start(block_response: str = "block-page", **options: Any) -> LanePair:
        tmp = tmp_path / f"pair{len(started)}"
        subnets = [Subnet(network=net, group=group) for net, group in SUBNETS.items()]
        options.setdefault("identity", Identity(subnets))
        options.setdefault("block_page", BLOCK_PAGE)
        options.setdefault("clock", clock)
        started.append(
            LanePair(lambda: make_snapshot(tmp / "lists", block_response), tmp, **options)
        )
        return started[-1]

    yield start
    for pair in started:
        pair.close()


def assert_lane_did_work(pair: LanePair, since: int = 0) -> None:
    """The lane answered or forwarded some queries itself; the Python-only side none."""
    if LANE_API:
        assert pair.on.counts()["fast"] > since, pair.on.counts()
        assert pair.off.counts() == {"fast": 0, "punted": 0}


def rcode(answer: bytes | None) -> int:
    assert answer is not None
    return dns.message.from_wire(answer).rcode()


def addresses(answer: bytes | None) -> list[str]:
    assert answer is not None
    message = dns.message.from_wire(answer)
    return sorted(r.to_text() for rrset in message.answer for r in rrset if rrset.rdtype in (1, 28))


# 1. Blocked names ------------------------------------------------------------------------------


NO_IPV6 = BlockPage(ipv4="10.9.9.9", ipv6=None)


@pytest.mark.parametrize(
    ("block_response", "page"),
    [("block-page", BLOCK_PAGE), ("block-page", NO_IPV6), ("nxdomain", BLOCK_PAGE)],
)
def test_blocked_names_get_the_same_answers_and_records_tm_006(lanes, block_response, page) -> None:
    pair = lanes(block_response, block_page=page)
    names = ["blocked.example", "www.Sub.BLOCKED.example", "BeTs.ExAmPlE", GAMBLING[3].upper()]
    for name in names:
        for rtype in ("A", "AAAA", "MX", "TXT", "HTTPS", "ANY"):
            for variant in VARIANTS.values():
                packet = query(name, rtype, **variant)
                message = dns.message.from_wire(pair.ask(packet))
                assert message.question[0].name.to_text() == name + ".", "0x20 case kept"
                assert (message.edns >= 0) == (dns.message.from_wire(packet).edns >= 0)
                if block_response == "nxdomain":
                    assert message.rcode() == dns.rcode.NXDOMAIN
                elif rtype == "A" or (rtype == "AAAA" and page.ipv6):
                    assert len(message.answer) == 1 and message.flags & dns.flags.AA
    records = pair.records()
    assert len(records) == len(names) * 6 * len(VARIANTS)
    assert {r["rule"] for r in records} == {"inappropriate-content"}
    assert {tuple(r["notify"]) for r in records} == {("dsl",)}
    assert not pair.on.upstream_server.received and not pair.off.upstream_server.received
    assert_lane_did_work(pair)


# 2. Allowed names, relayed from the upstream ---------------------------------------------------


def test_allowed_names_are_relayed_the_same_then_served_from_the_cache(lanes) -> None:
    pair = lanes()
    asked = [
        query("allowed.example"),
        query("ALLOWED.example", "AAAA", use_edns=0),
        query("www.example.org", **EDNS["cookie"]),
        query("nothing.example", **EDNS["do"]),  # NXDOMAIN with an SOA
        query("allowed.example", "MX"),  # NOERROR, no data
    ]
    time.sleep(1.02 - time.time() % 1)  # all in one second: cached TTLs are the upstream's
    first = [pair.ask(packet) for packet in asked]
    again = [pair.ask(packet) for packet in asked]
    assert first == again
    assert addresses(first[0]) == ["192.0.2.10"] and addresses(first[1]) == ["2001:db8::10"]
    assert rcode(first[3]) == dns.rcode.NXDOMAIN
    time.sleep(1.02 - time.time() % 1)  # a second later the TTLs count down, alike
    later = pair.ask(asked[0])
    assert dns.message.from_wire(later).answer[0].ttl == 299
    received = pair.on.upstream_server.received
    assert received.count("allowed.example. MX") == 2  # no SOA, no TTL to honour: not cached
    assert len(received) == len(asked) + 1  # the rest from the cache
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    records = pair.records()
    assert [r["action"] for r in records] == ["allow"] * (2 * len(asked) + 1)
    assert_lane_did_work(pair)


# 3. What the lane must hand to the chain ---------------------------------------------------------


def _header(qdcount: int = 1, ancount: int = 0, flags: int = 0x0100) -> bytes:
    return struct.pack(">HHHHHH", QID, flags, qdcount, ancount, 0, 0)


PUNTED: dict[str, bytes] = {
    "site list, blocked": query("listed.test"),
    "site list, warned": query("www.Warn.test", "AAAA"),
    "DoH endpoint": query("dns.google", **EDNS["edns"]),
    "DoH canary": query("use-application-dns.net"),
    "safe search CNAME": query("www.google.com"),
    "safe search AAAA": query("WWW.google.com", "AAAA", use_edns=0),
    "safe search address": query("www.ya.ru"),
    "self-test probe, blocked": query("blocked.example", use_edns=0, options=[PROBE]),
    "self-test probe, allowed": query("allowed.example", use_edns=0, options=[COOKIE, PROBE]),
    "quote": raw([b'a"b', b"example"]),
    "backslash": raw([b"a\\b", b"blocked", b"example"]),
    "control character": raw([b"a\x01b", b"example"]),
    "space": raw([b"a b", b"example"]),
    "underscore": raw([b"_dmarc", b"allowed", b"example"]),
    "non-ASCII": raw([b"caf\xc3\xa9", b"example"]),
    "dot in a label": raw([b"blocked.example"]),
    "name over 255 bytes": raw([b"a" * 63] * 4 + [b"blocked", b"example"]),
    "root": raw([], qtype=2),
    "class CH": raw([b"version", b"bind"], qtype=16, qclass=3),
    "class ANY": raw([b"blocked", b"example"], qclass=255),
    "two questions": _header(2) + raw([b"blocked", b"example"])[12:] * 2,
    "an answer record": _header(ancount=1) + raw([b"blocked", b"example"])[12:],
    "opcode STATUS": raw([b"blocked", b"example"], flags=0x1100),
    "a response": raw([b"blocked", b"example"], flags=0x8100),
    "compressed question": _header() + b"\xc0\x0c\x00\x01\x00\x01",
    "truncated question": raw([b"blocked", b"example"])[:-2],
    "truncated OPT": query("blocked.example", use_edns=0)[:-3],
    "short header": b"\x5a\x5a\x01\x00",
}


def test_names_the_lane_punts_get_the_chains_answers(lanes) -> None:
    doh = load_doh_domains([DATA / "doh-servers" / "doh-domains.txt"])
    tables = SafeSearch.from_directory(DATA / "safesearch-adguard")
    pair = lanes(doh_domains=doh, safe_search=tables)
    pair.ask(query("blocked.example"))  # the client is known to the lane from here on
    before = pair.on.counts()
    answers = {why: pair.ask(packet, timeout=0.5) for why, packet in PUNTED.items()}
    if LANE_API:
        after = pair.on.counts()
        assert after["fast"] == before["fast"], "the lane answered something it must punt"
        assert after["punted"] > before["punted"]
    assert rcode(answers["non-ASCII"]) == dns.rcode.FORMERR
    assert rcode(answers["opcode STATUS"]) == dns.rcode.NOTIMP
    assert answers["a response"] is None and answers["short header"] is None
    assert addresses(answers["safe search CNAME"]) == ["216.239.38.120"]
    assert rcode(answers["DoH canary"]) == dns.rcode.NXDOMAIN
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    records = pair.records()
    assert {"listed.test", "dns.google", "www.google.com"} <= {r["target"] for r in records}
    assert any(r["extra"].get("selftest") for r in records)


def _with_additional(packet: bytes, record: bytes) -> bytes:
    """`packet` with one more additional record."""
    count = int.from_bytes(packet[10:12], "big") + 1
    return packet[:10] + count.to_bytes(2, "big") + packet[12:] + record


LONG = ".".join(["a" * 63, "B" * 63, "c" * 63, "d" * 45, "blocked", "example"])  # 253 bytes
ODD_BUT_PLAIN: dict[str, bytes] = {
    "longest name": query(LONG),
    "qtype 0": raw([b"blocked", b"example"], qtype=0),
    "qtype OPT": raw([b"n1", b"blocked", b"example"], qtype=41),
    "AXFR": raw([b"blocked", b"example"], qtype=252),
    "IXFR, allowed": raw([b"allowed", b"example"], qtype=251),
    "trailing bytes": query("n2.blocked.example") + b"\x00\x01\x02",
    "OPT then an A record": _with_additional(
        query("n3.blocked.example", use_edns=0),
        b"\x00\x00\x01\x00\x01\x00\x00\x00\x05\x00\x04\x7f\x00\x00\x01",
    ),
    "two OPT records": _with_additional(
        query("n4.blocked.example", use_edns=0), b"\x00\x00\x29\x04\xd0" + bytes(6)
    ),
    "OPT with Z bits": query("n5.blocked.example", use_edns=0, ednsflags=0x7FFF),
    "extended RCODE in OPT": query("n6.blocked.example", use_edns=0, ednsflags=0x01000000),
    "empty OPT option": query(
        "n7.blocked.example", use_edns=0, options=[dns.edns.GenericOption(3, b"")]
    ),
}


def test_odd_but_well_formed_queries_get_the_same_answers(lanes) -> None:
    pair = lanes()
    pair.ask(query("blocked.example"))
    answers = {why: pair.ask(packet, timeout=0.5) for why, packet in ODD_BUT_PLAIN.items()}
    assert rcode(answers["two OPT records"]) == dns.rcode.FORMERR
    assert addresses(answers["longest name"]) == ["10.9.9.9"]
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    pair.records()


def test_a_burst_of_mixed_queries_is_answered_and_journalled_alike(lanes) -> None:
    pair = lanes(safe_search=SafeSearch.from_directory(DATA / "safesearch-adguard"))
    names = ["blocked.example", "allowed.example", "www.google.com", "games.example", "listed.test"]
    packets = []
    for index in range(96):  # more than one batch (64 datagrams) at the server
        name = f"b{index}.{names[index % len(names)]}" if index % 7 else names[index % 5]
        message = dns.message.make_query(
            name, ("A", "AAAA", "TXT")[index % 3], use_edns=index % 2 - 1
        )
        message.id = index
        packets.append(message.to_wire())
    assert len(pair.burst(packets)) == len(packets)
    assert len(pair.records(ordered=False)) == len(packets)
    assert_lane_did_work(pair)


def test_allowed_names_are_not_journalled_when_the_site_says_so(lanes) -> None:
    pair = lanes(journal_allowed=False)
    for name in ("allowed.example", "blocked.example", "n1.allowed.example", "games.example"):
        pair.ask(query(name))
    assert [r["target"] for r in pair.records()] == ["blocked.example", "games.example"]
    assert_lane_did_work(pair)


# 4. Who is asking, agreements, reloads and the clock -------------------------------------------


def test_groups_come_from_the_client_subnet_alike(lanes) -> None:
    pair = lanes()
    names = ["games.example", "n1.games.example", "blocked.example", GAMBLING[0], "allowed.example"]
    for name in names:
        for client in (PUPIL, STAFF, SIXTH_FORM, PUPIL):
            pair.ask(query(name, "AAAA" if client == SIXTH_FORM else "A"), client)
    records = pair.records()
    assert {r["group"] for r in records} == {"pupils", "staff", "sixth-form"}
    by_group = {(r["group"], r["target"]): r["action"] for r in records}
    assert by_group["pupils", "games.example"] == "block"
    assert by_group["staff", "games.example"] == "allow"
    assert_lane_did_work(pair)


def test_an_agreement_signed_between_two_queries_counts_at_once_stm_228_tm_004(
    lanes, tmp_path: Path
) -> None:
    signatures = SignatureStore(tmp_path / "signatures.jsonl")
    pair = lanes(agreements=AgreementCheck(None, signatures))
    for name in ("allowed.example", "n1.allowed.example", "n2.allowed.example"):
        assert addresses(pair.ask(query(name), NEWCOMER)) == ["10.9.9.9"]
    signatures.sign(f"address:{NEWCOMER}", "pupil-aup", datetime.now())
    assert addresses(pair.ask(query("allowed.example"), NEWCOMER)) == ["192.0.2.10"]
    assert rcode(pair.ask(query("n3.allowed.example"), NEWCOMER)) == dns.rcode.NXDOMAIN
    rules = [r["rule"] for r in pair.records()]
    assert rules == ["agreement-required"] * 3 + ["default"] * 2
    assert_lane_did_work(pair)


def test_a_reloaded_policy_counts_from_the_next_query(lanes, tmp_path: Path) -> None:
    path = tmp_path / "school.sgs"
    make_snapshot(tmp_path / "v1").save(path)
    holders = (SnapshotHolder(path), SnapshotHolder(path))
    pair = lanes(holders=holders)
    names = ["blocked.example", "casino0-online.com", "n1.casino0-online.com", "allowed.example"]
    before = [pair.ask(query(name)) for name in names]
    assert addresses(before[0]) == ["10.9.9.9"] and addresses(before[1]) == ["10.9.9.9"]
    lenient = POLICY.replace("[pornography, gambling]", "[pornography]")
    make_snapshot(tmp_path / "v2", "nxdomain", lenient).save(path)
    assert all(holder.reload() for holder in holders)
    after = [pair.ask(query(name)) for name in names]
    assert rcode(after[0]) == dns.rcode.NXDOMAIN  # blocked, now answered NXDOMAIN
    assert pair.on.upstream_server.received[-2:] == [f"{n.lower()}. A" for n in names[1:3]]
    actions = [r["action"] for r in pair.records()]
    assert actions == ["block", "block", "block", "allow", "block", "allow", "allow", "allow"]
    assert_lane_did_work(pair)


def test_the_gaming_rule_ends_on_the_minute_tm_057_tm_005(lanes, clock: FakeClock) -> None:
    pair = lanes()
    clock.set(datetime(2025, 3, 4, 15, 29, 59, 900_000, tzinfo=UTC))
    names = ["games.example", "n1.games.example", "n2.GAMES.example"]
    for name in names[:2]:
        assert addresses(pair.ask(query(name))) == ["10.9.9.9"]
    clock.set(datetime(2025, 3, 4, 15, 30, 0, 100_000, tzinfo=UTC))
    for name in names:
        assert rcode(pair.ask(query(name))) == dns.rcode.NXDOMAIN  # warned, so forwarded
    rules = [r["rule"] for r in pair.records()]
    assert rules == ["no-gaming-in-school-hours"] * 2 + ["gaming-outside-school-hours"] * 3
    assert_lane_did_work(pair)


# 5. The upstream misbehaving ---------------------------------------------------------------------


def test_a_silent_upstream_gives_servfail_after_the_retries_alike(lanes) -> None:
    pair = lanes(upstream_silent=True, timeout=0.2, retries=1)
    assert rcode(pair.ask(query("allowed.example"))) == dns.rcode.SERVFAIL
    assert rcode(pair.ask(query("n1.allowed.example", "AAAA", use_edns=0))) == dns.rcode.SERVFAIL
    assert addresses(pair.ask(query("blocked.example"))) == ["10.9.9.9"]
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    assert len(pair.on.upstream_server.received) == 4  # two names, first try and one retry
    assert [r["action"] for r in pair.records()] == ["allow", "allow", "block"]
    assert_lane_did_work(pair)


def test_truncated_upstream_answers_are_fetched_over_tcp_alike(lanes) -> None:
    pair = lanes()
    small = dns.message.from_wire(pair.ask(query("big.example", "TXT")))
    assert small.flags & dns.flags.TC and not small.answer  # the client must ask over TCP
    big = dns.message.from_wire(pair.ask(query("Big.example", "TXT", use_edns=0, payload=4096)))
    assert len(big.answer[0]) == 10
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    assert len(pair.records()) == 2
    assert_lane_did_work(pair)


def test_an_answer_to_another_question_is_rejected_alike(lanes) -> None:
    pair = lanes(timeout=0.5, retries=1)
    assert rcode(pair.ask(query("wrong.example"))) == dns.rcode.SERVFAIL
    assert pair.on.upstream_server.received == ["wrong.example. wrong"] * 2
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    assert len(pair.records()) == 1
    assert_lane_did_work(pair)


# 6. Any plain name -------------------------------------------------------------------------------

LABEL = st.from_regex(r"\A[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?\Z")
SUFFIXES = ["", "blocked.example", "games.example", "allowed.example", *GAMBLING[::3]]
QTYPES = ["A", "AAAA", "MX", "TXT", "HTTPS", "ANY", "NS", "SOA", "SRV", "CAA", "PTR"]


@st.composite
def plain_names(draw: st.DrawFn) -> str:
    suffix = draw(st.sampled_from(SUFFIXES))
    room = 5 - (suffix.count(".") + 1 if suffix else 0)
    labels = draw(st.lists(LABEL, min_size=0 if suffix else 1, max_size=room))
    name = ".".join([*labels, suffix] if suffix else labels)
    mask = draw(st.integers(0, 2 ** len(name) - 1))
    return "".join(c.upper() if mask >> i & 1 else c for i, c in enumerate(name))


def test_any_plain_name_is_answered_and_journalled_alike(lanes) -> None:
    pair = lanes()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        name=plain_names(),
        rtype=st.sampled_from(QTYPES),
        edns=st.sampled_from(sorted(EDNS)),
        client=st.sampled_from([PUPIL, STAFF, SIXTH_FORM]),
    )
    def check(name: str, rtype: str, edns: str, client: str) -> None:
        assert pair.ask(query(name, rtype, **EDNS[edns]), client) is not None
        (record,) = pair.records()
        assert record["target"] == name.lower() and record["extra"]["qtype"] > 0

    check()
    assert_lane_did_work(pair)


# The journal before the answer (issue 8) ---------------------------------------------------------


def test_the_record_is_in_the_os_before_the_answer_leaves(lanes) -> None:
    # fsyncs (and the background hand-over) only every 30 s: only the transport's own hand-over
    # before it answers can put the records in the segment file in time.
    pair = lanes(journal_flush=30)
    pair.ask(query("blocked.example", "AAAA"))  # the client is known to the lane from here on
    for name in ("blocked.example", "n1.blocked.example", "allowed.example", "n1.games.example"):
        fast = pair.on.counts()["fast"]
        pair.ask(query(name))
        for side in (pair.on, pair.off):
            assert name in [r["target"] for r in side.records(flush=False)], side.fast_lane
        assert_lane_did_work(pair, since=fast)
