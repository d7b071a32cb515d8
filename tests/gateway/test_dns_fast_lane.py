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

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from tests.gateway.fast_lane_packets import (
    EDNS,
    EXAMPLES,
    ODD_BUT_PLAIN,
    PUNTED,
    QTYPES,
    UPSTREAM_CASES,
    VARIANTS,
    addresses,
    batches,
    numbered,
    plain_names,
    query,
    rcode,
)
from tests.gateway.fast_lane_support import (
    GAMBLING,
    NEWCOMER,
    POLICY,
    PUPIL,
    SIXTH_FORM,
    SIXTH_FORM_V6,
    STAFF,
    SUBNETS,
    FakeClock,
    LanePair,
    make_snapshot,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
TUESDAY_LESSON = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)  # London is on GMT in March
BLOCK_PAGE = BlockPage(ipv4="10.9.9.9", ipv6="fd00::9")
NO_IPV6 = BlockPage(ipv4="10.9.9.9", ipv6=None)
SIGNED_IN, GHOST, UNKNOWN = "127.0.0.6", "127.0.0.7", "127.0.0.9"  # UNKNOWN: on no subnet
USER = 'Zoë "Z" O\'Brien \\ staff'
"""A signed-in user (a log-on binding) whose name JSON must escape."""
WARM = ["warm.allowed.example", "warm.blocked.example", "warm.bets.example", "warm.games.example"]
"""One name per category mask the tests use: the lane learns each (subject, categories) entry
from the chain's answer to the first such query, then answers the rest itself."""


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
    bindings = tmp_path / "bindings.json"
    bindings.write_text(json.dumps({SIGNED_IN: {"user": USER, "group": "staff"}}))

    def start(block_response: str = "block-page", **options: Any) -> LanePair:
        tmp = tmp_path / f"pair{len(started)}"
        subnets = [Subnet(network=net, group=group) for net, group in SUBNETS.items()]
        options.setdefault("identity", Identity(subnets, bindings))
        options.setdefault("block_page", BLOCK_PAGE)
        options.setdefault("clock", clock)
        make = lambda: make_snapshot(tmp / "lists", block_response)  # noqa: E731
        started.append(LanePair(make, tmp, **options))
        return started[-1]

    yield start
    for pair in started:
        pair.close()


def warm(pair: LanePair, *clients: str) -> int:
    """Ask `WARM` from each client (default: a pupil); the lane's count of fast queries after."""
    for client in clients or (PUPIL,):
        for name in WARM:
            pair.ask(query(name), client)
    pair.records()
    return pair.on.counts()["fast"]


def assert_lane_did_work(pair: LanePair, since: int = 0) -> None:
    """The lane answered or forwarded queries itself (more than `since`); with it off, none."""
    assert pair.on.counts()["fast"] > since, pair.on.counts()
    assert pair.off.counts() == {"fast": 0, "punted": 0}


# 1. Blocked names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block_response", "page"),
    [("block-page", BLOCK_PAGE), ("block-page", NO_IPV6), ("nxdomain", BLOCK_PAGE)],
)
def test_blocked_names_get_the_same_answers_and_records_tm_006(lanes, block_response, page) -> None:
    pair = lanes(block_response, block_page=page, block_ttl=60 if page is BLOCK_PAGE else 5)
    fast = warm(pair)
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
    assert_lane_did_work(pair, since=fast)


# 2. Allowed names, relayed from the upstream ---------------------------------------------------


def test_allowed_names_are_relayed_the_same_then_served_from_the_cache(lanes) -> None:
    pair = lanes()
    fast = warm(pair)
    asked = [
        query("allowed.example"),
        query("ALLOWED.example", "AAAA", use_edns=0),
        query("www.example.org", **EDNS["cookie"]),
        query("nothing.example", **EDNS["do"]),  # NXDOMAIN with an SOA
        query("allowed.example", "MX"),  # NOERROR, no data
    ]
    time.sleep(1.02 - time.time() % 1)  # all in one second: cached TTLs are the upstream's
    first = [pair.ask(packet) for packet in asked]
    assert_lane_did_work(pair, since=fast)
    again = [pair.ask(packet) for packet in asked]
    assert first == again
    assert addresses(first[0]) == ["192.0.2.10"] and addresses(first[1]) == ["2001:db8::10"]
    assert rcode(first[3]) == dns.rcode.NXDOMAIN
    time.sleep(1.02 - time.time() % 1)  # a second later the TTLs count down, alike
    later = pair.ask(asked[0])
    assert dns.message.from_wire(later).answer[0].ttl == 299
    received = pair.on.upstream_server.received
    assert received.count("allowed.example. MX") == 2  # no SOA, no TTL to honour: not cached
    assert len(received) == len(WARM) - 3 + len(asked) + 1  # the rest from the cache
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    records = pair.records()
    assert [r["action"] for r in records] == ["allow"] * (2 * len(asked) + 1)


def test_upstream_answers_never_cached_or_cached_briefly_are_relayed_alike(lanes) -> None:
    pair = lanes()
    fast = warm(pair)
    names = ["refused", "servfail", "ttl0", "cname", "nodata"]
    time.sleep(1.02 - time.time() % 1)
    first = [pair.ask(query(f"{name}.allowed.example")) for name in names]
    assert_lane_did_work(pair, since=fast)
    again = [pair.ask(query(f"{name}.allowed.example")) for name in names]
    assert [rcode(a) for a in first] == [5, 2, 0, 0, 0] and again == first
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    asked = [r.split(".")[0] for r in pair.on.upstream_server.received[len(WARM) - 3 :]]
    assert asked == [*names, "refused", "servfail", "ttl0", "nodata"]  # cname was cached
    time.sleep(1.02 - time.time() % 1)  # the cached CNAME and address count down together
    message = dns.message.from_wire(pair.ask(query("cname.allowed.example")))
    assert [rrset.ttl for rrset in message.answer] == [119, 59]
    assert len(pair.records()) == 2 * len(names) + 1


def test_a_full_answer_cache_drops_the_oldest_alike(lanes) -> None:
    pair = lanes(cache_entries=3)
    warm(pair)
    names = [f"n{index}.allowed.example" for index in range(5)] + ["n4.allowed.example"] * 2
    for name in [*names, "n0.allowed.example", "n3.allowed.example"]:
        pair.ask(query(name))
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    assert pair.on.upstream_server.received.count("n0.allowed.example. A") == 2  # dropped
    assert pair.on.upstream_server.received.count("n4.allowed.example. A") == 1
    assert len(pair.records()) == len(names) + 2


# 3. What the lane must hand to the chain ---------------------------------------------------------


def test_names_the_lane_punts_get_the_chains_answers(lanes) -> None:
    doh = load_doh_domains([DATA / "doh-servers" / "doh-domains.txt"])
    tables = SafeSearch.from_directory(DATA / "safesearch-adguard")
    pair = lanes(doh_domains=doh, safe_search=tables)
    warm(pair)
    before = pair.on.counts()
    answers = {why: pair.ask(packet, timeout=0.5) for why, packet in PUNTED.items()}
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


def test_odd_but_well_formed_queries_get_the_same_answers(lanes) -> None:
    pair = lanes()
    warm(pair)
    answers = {why: pair.ask(packet, timeout=0.5) for why, packet in ODD_BUT_PLAIN.items()}
    assert [why for why, answer in answers.items() if answer is None] == []
    assert rcode(answers["two OPT records"]) == dns.rcode.FORMERR
    assert rcode(answers["option longer than the OPT"]) == dns.rcode.FORMERR  # the upstream's
    assert addresses(answers["longest name"]) == ["10.9.9.9"]
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    pair.records()


def test_a_46_character_label_is_not_a_dot(lanes) -> None:
    pair = lanes()
    warm(pair)
    name = "a." + "y" * 46 + ".blocked.example"
    assert addresses(pair.ask(query(name))) == ["10.9.9.9"]


def test_a_burst_of_mixed_queries_is_answered_and_journalled_alike(lanes) -> None:
    pair = lanes(safe_search=SafeSearch.from_directory(DATA / "safesearch-adguard"))
    fast = warm(pair)
    names = ["blocked.example", "allowed.example", "www.google.com", "games.example", "listed.test"]
    packets = []
    for index in range(96):  # more than one batch (64 datagrams) at the server
        name = f"b{index}.{names[index % len(names)]}" if index % 7 else names[index % 5]
        rtype = ("A", "AAAA", "TXT")[index % 3]
        message = dns.message.make_query(name, rtype, use_edns=index % 2 - 1)
        message.id = index
        packets.append(message.to_wire())
    assert len(pair.burst(packets)) == len(packets)
    assert len(pair.records()) == len(packets)
    assert_lane_did_work(pair, since=fast)


def test_identical_queries_in_one_batch_are_answered_alike(lanes) -> None:
    pair = lanes()
    fast = warm(pair, PUPIL, STAFF)
    assert len(pair.burst(numbered(["same.allowed.example"] * 6), one_batch=True)) == 6
    assert len(pair.burst(numbered(["same.allowed.example"] * 2), STAFF)) == 2  # cached
    assert len(pair.records()) == 8
    assert_lane_did_work(pair, since=fast)


def test_identical_queries_in_one_batch_go_upstream_once(lanes) -> None:
    pair = lanes()
    warm(pair)
    pair.burst(numbered(["same.allowed.example"] * 6), one_batch=True)
    assert pair.on.upstream_server.received == pair.off.upstream_server.received


def test_a_mixed_batch_is_journalled_in_the_order_it_came(lanes) -> None:
    pair = lanes()
    warm(pair)
    names = [
        "n1.blocked.example",
        "listed.test",
        "n2.allowed.example",
        "www.warn.test",
        "n3.b.test",
    ]
    pair.burst(numbered(names), one_batch=True)
    assert [r["target"] for r in pair.on.records()][-5:] == names
    pair.records()


@pytest.mark.parametrize("journalling", [True, False])
def test_allowed_names_are_not_journalled_when_the_site_says_so(lanes, journalling) -> None:
    pair = lanes(journal_allowed=False, journalling=journalling)  # False: no journal at all
    fast = warm(pair)
    for name in ("allowed.example", "blocked.example", "n1.allowed.example", "n1.games.example"):
        pair.ask(query(name))
    expected = ["blocked.example", "n1.games.example"] if journalling else []
    assert [r["target"] for r in pair.records()] == expected
    assert_lane_did_work(pair, since=fast)


# 4. Who is asking, agreements, reloads and the clock -------------------------------------------


def test_groups_and_users_come_from_subnets_and_bindings_alike(lanes) -> None:
    pair = lanes()
    clients = (PUPIL, STAFF, SIXTH_FORM, SIGNED_IN, SIXTH_FORM_V6, UNKNOWN, PUPIL)
    fast = warm(pair, *clients)
    names = ["games.example", "n1.games.example", "x.adult.games.example", GAMBLING[0]]
    names += ["allowed.example", "best-casino-bonus.com", "free-vpn-proxy.net"]
    for name in names:
        for client in clients:
            pair.ask(query(name, "AAAA" if client == SIXTH_FORM else "A"), client)
    records = pair.records()
    assert {r["group"] for r in records} == {"pupils", "staff", "sixth-form"}
    assert {r["user"] for r in records} == {None, USER}
    assert {r["address"] for r in records} == {*clients}
    by_group = {(r["group"], r["target"]): r for r in records}
    assert by_group["pupils", "games.example"]["action"] == "block"
    assert by_group["staff", "games.example"]["action"] == "allow"
    assert by_group["pupils", "best-casino-bonus.com"]["rule"] == "guessed-from-the-name"
    assert by_group["pupils", "x.adult.games.example"]["categories"] == ["games", "pornography"]
    assert_lane_did_work(pair, since=fast)


def test_a_new_log_on_and_an_unknown_group_count_alike(lanes, tmp_path: Path) -> None:
    pair = lanes()
    fast = warm(pair, SIGNED_IN)
    for name in ("a.allowed.example", "a.games.example"):
        pair.ask(query(name), SIGNED_IN)
    bound = {SIGNED_IN: {"user": "bob", "group": "pupils"}, GHOST: {"group": "ghost"}}
    (tmp_path / "bindings.json").write_text(json.dumps(bound))
    time.sleep(1.1)  # bindings are looked at again once a second
    for name in ("b.allowed.example", "b.games.example", "c.games.example"):
        pair.ask(query(name), SIGNED_IN)
    for name in ("g.allowed.example", "g.games.example", "h.games.example"):
        assert addresses(pair.ask(query(name), GHOST)) == ["10.9.9.9"]  # the policy's fail mode
    records = [(r["user"], r["group"], r["rule"]) for r in pair.records()]
    assert (
        records[:5]
        == [(USER, "staff", "default")] * 2
        + [("bob", "pupils", "default")]
        + [("bob", "pupils", "no-gaming-in-school-hours")] * 2
    )
    assert records[5:] == [(None, "ghost", "fail-closed")] * 3
    assert_lane_did_work(pair, since=fast)


def test_an_agreement_signed_between_two_queries_counts_at_once_stm_228_tm_004(
    lanes, tmp_path: Path
) -> None:
    signatures = SignatureStore(tmp_path / "signatures.jsonl")
    pair = lanes(agreements=AgreementCheck(None, signatures))
    for name in ("allowed.example", "n1.allowed.example", "n2.allowed.example"):
        assert addresses(pair.ask(query(name), NEWCOMER)) == ["10.9.9.9"]
    signatures.sign(f"address:{NEWCOMER}", "pupil-aup", datetime.now())
    assert addresses(pair.ask(query("allowed.example"), NEWCOMER)) == ["192.0.2.10"]
    for name in ("n3.allowed.example", "n4.allowed.example"):
        assert rcode(pair.ask(query(name), NEWCOMER)) == dns.rcode.NXDOMAIN
    rules = [r["rule"] for r in pair.records()]
    assert rules == ["agreement-required"] * 3 + ["default"] * 3
    assert_lane_did_work(pair)


def test_a_reloaded_policy_counts_from_the_next_query(lanes, tmp_path: Path) -> None:
    path = tmp_path / "school.sgs"
    make_snapshot(tmp_path / "v1").save(path)
    holders = (SnapshotHolder(path), SnapshotHolder(path))
    pair = lanes(holders=holders)
    fast = warm(pair)
    names = ["blocked.example", "casino0-online.com", "n1.casino0-online.com", "allowed.example"]
    before = [pair.ask(query(name)) for name in names]
    assert addresses(before[0]) == ["10.9.9.9"] and addresses(before[1]) == ["10.9.9.9"]
    assert_lane_did_work(pair, since=fast)
    lenient = POLICY.replace("[pornography, gambling]", "[pornography]")
    make_snapshot(tmp_path / "v2", "nxdomain", lenient).save(path)
    assert all(holder.reload() for holder in holders)
    names += ["n2.blocked.example", "n2.casino0-online.com"]
    after = [pair.ask(query(name)) for name in names]
    assert rcode(after[0]) == dns.rcode.NXDOMAIN and rcode(after[4]) == dns.rcode.NXDOMAIN
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    actions = [r["action"] for r in pair.records()]
    assert actions == ["block"] * 3 + ["allow", "block"] + ["allow"] * 3 + ["block", "allow"]
    # Back to the first, reloaded on watcher threads while the servers are busy (issue 9: the
    # lane takes the new snapshot between two batches, the chain at once).
    make_snapshot(tmp_path / "v3").save(path)
    with pair.held():
        reloading = [threading.Thread(target=holder.reload) for holder in holders]
        for thread in reloading:
            thread.start()
        for thread in reloading:
            thread.join()
    answers = pair.burst(numbered(["n3.blocked.example", "n3.casino0-online.com"]))
    assert [addresses(answer) for answer in answers] == [["10.9.9.9"]] * 2


def test_the_gaming_rule_ends_on_the_minute_tm_057_tm_005(lanes, clock: FakeClock) -> None:
    pair = lanes()
    clock.set(datetime(2025, 3, 4, 15, 29, 59, 900_000, tzinfo=UTC))
    fast = warm(pair)
    names = ["games.example", "n1.games.example", "n2.GAMES.example", "n3.games.example"]
    for name in names[:2]:
        assert addresses(pair.ask(query(name))) == ["10.9.9.9"]
    assert_lane_did_work(pair, since=fast)
    clock.set(datetime(2025, 3, 4, 15, 30, 0, 100_000, tzinfo=UTC))
    for name in names:
        assert rcode(pair.ask(query(name))) == dns.rcode.NXDOMAIN  # warned, so forwarded
    rules = [r["rule"] for r in pair.records()]
    assert rules == ["no-gaming-in-school-hours"] * 2 + ["gaming-outside-school-hours"] * 4


def test_a_batch_read_just_before_the_minute_does_not_outlive_it_tm_057(
    lanes, clock: FakeClock
) -> None:
    pair = lanes()
    # The batch's clock is read at 15:29:59.999; the wall clock has ticked to 15:30 by the time
    # its decisions are looked up (a batch of 64 queries takes about a millisecond).
    clock.set(datetime(2025, 3, 4, 15, 29, 59, 999_000, tzinfo=UTC), skew=0.002)
    assert addresses(pair.ask(query("games.example"))) == ["10.9.9.9"]
    clock.set(datetime(2025, 3, 4, 15, 30, 0, 100_000, tzinfo=UTC))
    for name in ("games.example", "n1.games.example", "n2.games.example"):
        assert rcode(pair.ask(query(name))) == dns.rcode.NXDOMAIN  # warned, so forwarded


# 5. The upstream misbehaving ---------------------------------------------------------------------


def _upstream_case(lanes, case: str) -> tuple[LanePair, int]:
    options, packets, rcodes = UPSTREAM_CASES[case]
    pair = lanes(**options)
    fast = warm(pair)
    assert [rcode(pair.ask(packet, timeout=5)) for packet in packets] == rcodes
    return pair, fast


@pytest.mark.parametrize("case", sorted(UPSTREAM_CASES))
def test_a_misbehaving_upstream_gets_the_same_answers_and_records(lanes, case: str) -> None:
    pair, fast = _upstream_case(lanes, case)
    assert len(pair.records()) == len(UPSTREAM_CASES[case][1])
    assert_lane_did_work(pair, since=fast)


@pytest.mark.parametrize("case", sorted(UPSTREAM_CASES))
def test_a_misbehaving_upstream_is_asked_as_often(lanes, case: str) -> None:
    pair, _ = _upstream_case(lanes, case)
    assert pair.on.upstream_server.received == pair.off.upstream_server.received
    if case == "the first of two silent":
        assert pair.on.dead_server.received == pair.off.dead_server.received


def test_a_dead_first_upstream_is_not_asked_first_again(lanes) -> None:
    pair, _ = _upstream_case(lanes, "the first of two silent")
    assert len(pair.on.dead_server.received) == 1
    assert max(pair.took) < 0.1  # the last query: straight to the live upstream


# 6. Any plain name -------------------------------------------------------------------------------


def test_any_plain_name_is_answered_and_journalled_alike(lanes) -> None:
    pair = lanes()
    fast = warm(pair, PUPIL, STAFF, SIXTH_FORM, SIGNED_IN, SIXTH_FORM_V6)

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        name=plain_names(),
        rtype=st.sampled_from(QTYPES),
        variant=st.sampled_from(sorted(VARIANTS)),
        client=st.sampled_from([PUPIL, STAFF, SIXTH_FORM, SIGNED_IN, SIXTH_FORM_V6]),
    )
    def check(name: str, rtype: str, variant: str, client: str) -> None:
        assert pair.ask(query(name, rtype, **VARIANTS[variant]), client) is not None
        (record,) = pair.records()
        assert record["target"] == name.lower() and record["extra"]["qtype"] > 0

    check()
    assert_lane_did_work(pair, since=fast)


def test_any_batch_is_answered_and_journalled_alike(lanes) -> None:
    doh = load_doh_domains([DATA / "doh-servers" / "doh-domains.txt"])
    tables = SafeSearch.from_directory(DATA / "safesearch-adguard")
    pair = lanes(doh_domains=doh, safe_search=tables)
    fast = warm(pair, PUPIL, STAFF)

    @settings(max_examples=EXAMPLES // 8, deadline=None, suppress_health_check=list(HealthCheck))
    @given(packets=batches(), client=st.sampled_from([PUPIL, STAFF]))
    def check(packets: list[bytes], client: str) -> None:
        assert len(pair.burst(packets, client, one_batch=True)) == len(packets)
        pair.records()

    check()
    assert_lane_did_work(pair, since=fast)


# The journal before the answer (issue 8) ---------------------------------------------------------


def test_the_record_is_in_the_os_before_the_answer_leaves(lanes) -> None:
    # fsyncs (and the background hand-over) only every 30 s: only the transport's own hand-over
    # before it answers can put the records in the segment file in time.
    pair = lanes(journal_flush=30)
    warm(pair)
    for name in ("blocked.example", "n1.blocked.example", "allowed.example", "n1.games.example"):
        fast = pair.on.counts()["fast"]
        pair.ask(query(name))
        for side in (pair.on, pair.off):
            assert name in [r["target"] for r in side.records(flush=False)], side.fast_lane
        assert_lane_did_work(pair, since=fast)
