"""The filtering DNS resolver end to end: real sockets on 127.0.0.1, a real local upstream."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from schoolgate.events.journal import read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.safesearch import SafeSearch
from schoolgate.gateway.dns.server import load_doh_domains
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.site import BlockPage, Subnet
from tests.gateway.dns_harness import Gateway
from tests.gateway.policy_fixtures import make_snapshot

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
PUPILS = Subnet(network="127.0.0.0/8", group="pupils")
STAFF = Subnet(network="127.0.0.0/8", group="staff")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    started: list[Gateway] = []

    def start(block_response: str = "block-page", youtube: str = "strict", **options) -> Gateway:
        snapshot = make_snapshot(tmp_path / f"g{len(started)}", block_response, youtube)
        journal = tmp_path / f"journal{len(started)}"
        started.append(Gateway(snapshot, journal, **options))
        return started[-1]

    yield start
    for g in started:
        g.close()


def ask(g: Gateway, name: str, rtype: str = "A", tcp: bool = False, **kw) -> dns.message.Message:
    query = dns.message.make_query(name, rtype, **kw)
    if tcp:
        return dns.query.tcp(query, "127.0.0.1", port=g.port, timeout=5)
    return dns.query.udp(query, "127.0.0.1", port=g.port, timeout=5)


def addresses(reply: dns.message.Message) -> list[str]:
    return sorted(r.to_text() for rrset in reply.answer for r in rrset if rrset.rdtype in (1, 28))


def test_allowed_name_is_forwarded_to_the_upstream(gateway) -> None:
    g = gateway()
    reply = ask(g, "allowed.example")
    assert reply.rcode() == dns.rcode.NOERROR
    assert addresses(reply) == ["192.0.2.10"]
    assert ask(g, "allowed.example", "AAAA").answer[0][0].to_text() == "2001:db8::10"
    assert ask(g, "missing.example").rcode() == dns.rcode.NXDOMAIN


def test_blocked_name_gets_the_block_page_address(gateway) -> None:
    g = gateway(block_page=BlockPage(ipv4="10.9.9.9", ipv6="fd00::9"))
    for name in ("blocked.example", "www.sub.blocked.example", "BETS.example"):
        reply = ask(g, name)
        assert addresses(reply) == ["10.9.9.9"], name
        assert reply.flags & dns.flags.AA
    assert addresses(ask(g, "blocked.example", "AAAA")) == ["fd00::9"]
    mx = ask(g, "blocked.example", "MX")
    assert mx.rcode() == dns.rcode.NOERROR and not mx.answer
    assert not any("blocked.example" in q for q in g.upstream_server.received)


def test_blocked_name_gets_nxdomain_when_the_policy_says_so(gateway) -> None:
    g = gateway(block_response="nxdomain")
    assert ask(g, "adult-site.test").rcode() == dns.rcode.NXDOMAIN
    assert ask(g, "adult-site.test", "AAAA").rcode() == dns.rcode.NXDOMAIN


def test_groups_come_from_the_client_subnet(gateway) -> None:
    # pupils-no-games applies to pupils only.
    pupils = gateway(identity=Identity([PUPILS]))
    assert addresses(ask(pupils, "games.example")) == ["127.0.0.1"]
    staff = gateway(identity=Identity([STAFF]))
    assert ask(staff, "games.example").rcode() == dns.rcode.NXDOMAIN  # forwarded, unknown upstream


def test_unknown_client_gets_the_default_group(gateway) -> None:
    g = gateway(identity=Identity([Subnet(network="10.0.0.0/8", group="staff")]))
    assert addresses(ask(g, "games.example")) == ["127.0.0.1"]  # default_group: pupils


def test_safe_search_cname_then_the_safe_hosts_addresses(gateway) -> None:
    tables = SafeSearch.from_directory(DATA / "safesearch-adguard")
    g = gateway(identity=Identity([PUPILS]), safe_search=tables)
    for name in ("www.google.com", "www.google.co.uk", "www.google.fr"):
        reply = ask(g, name)
        cname = reply.find_rrset(reply.answer, dns.name.from_text(name), 1, dns.rdatatype.CNAME)
        assert cname[0].target.to_text() == "forcesafesearch.google.com."
        assert addresses(reply) == ["216.239.38.120"], name
    assert addresses(ask(g, "www.bing.com")) == ["204.79.197.220"]
    assert addresses(ask(g, "www.youtube.com")) == ["216.239.38.120"]  # restrict (strict)
    yandex = ask(g, "www.ya.ru")
    assert addresses(yandex) == ["213.180.193.56"]
    assert addresses(ask(g, "mail.google.com")) == []  # exact names only: not rewritten
    events = _events(g)
    google = next(e for e in events if e["target"] == "www.google.com")
    assert google["extra"]["safe_search"] == "forcesafesearch.google.com"


def test_moderate_youtube_and_no_safe_search_for_staff(gateway) -> None:
    g = gateway(youtube="moderate", identity=Identity([PUPILS]))
    assert addresses(ask(g, "m.youtube.com")) == ["216.239.38.119"]
    staff = gateway(identity=Identity([STAFF]))  # staff: Group.safe_search false
    assert addresses(ask(staff, "www.google.com")) == ["142.250.0.1"]


def test_doh_canary_and_doh_endpoints(gateway) -> None:
    doh = load_doh_domains([DATA / "doh-servers" / "doh-domains.txt"])
    assert "dns.google" in doh
    g = gateway(identity=Identity([STAFF]), doh_domains=doh)
    assert ask(g, "use-application-dns.net").rcode() == dns.rcode.NXDOMAIN
    assert addresses(ask(g, "dns.google")) == ["127.0.0.1"]
    assert addresses(ask(g, "cloudflare-dns.com")) == ["127.0.0.1"]
    event = next(e for e in _events(g) if e["target"] == "dns.google")
    assert event["rule"] == "doh-endpoint" and "doh" in event["categories"]
    assert event["group"] == "staff"


def test_tcp_queries_and_tcp_fallback_for_truncated_answers(gateway) -> None:
    g = gateway()
    assert addresses(ask(g, "allowed.example", tcp=True)) == ["192.0.2.10"]
    assert addresses(ask(g, "blocked.example", tcp=True)) == ["127.0.0.1"]
    udp = ask(g, "big.example", "TXT")
    assert udp.flags & dns.flags.TC  # the UDP client must retry over TCP
    tcp = ask(g, "big.example", "TXT", tcp=True)
    assert len(tcp.answer[0]) == 10


def test_cache_honours_ttls(gateway) -> None:
    g = gateway(upstream_ttl=2)
    first = ask(g, "www.example.org")
    second = ask(g, "www.example.org")
    assert g.upstream_server.received.count("www.example.org. A") == 1
    assert second.answer[0].ttl <= first.answer[0].ttl
    time.sleep(2.2)
    assert addresses(ask(g, "www.example.org")) == ["192.0.2.11"]
    assert g.upstream_server.received.count("www.example.org. A") == 2
    # Negative answers are cached for the SOA's negative TTL (30 s here).
    ask(g, "nothing.example")
    ask(g, "nothing.example")
    assert g.upstream_server.received.count("nothing.example. A") == 1


def test_question_case_is_echoed_from_the_cache(gateway) -> None:
    g = gateway()
    ask(g, "allowed.example")
    reply = ask(g, "AlLoWeD.ExAmPlE")
    assert reply.question[0].name.to_text() == "AlLoWeD.ExAmPlE."
    assert addresses(reply) == ["192.0.2.10"]


def test_upstream_timeout_gives_servfail(gateway) -> None:
    g = gateway(upstream_silent=True, timeout=0.2, retries=1)
    started = time.monotonic()
    reply = ask(g, "allowed.example")
    assert reply.rcode() == dns.rcode.SERVFAIL
    assert time.monotonic() - started < 3
    assert g.upstream_server.received.count("allowed.example. A") == 2  # first try + one retry
    assert addresses(ask(g, "blocked.example")) == ["127.0.0.1"]  # blocks need no upstream


def test_edns_is_answered_with_edns(gateway) -> None:
    g = gateway()
    reply = ask(g, "blocked.example", use_edns=0, payload=1232)
    assert reply.edns == 0
    assert ask(g, "allowed.example", use_edns=0).edns == 0


def test_every_decision_is_journalled(gateway) -> None:
    g = gateway(identity=Identity([PUPILS]))
    ask(g, "allowed.example")
    ask(g, "blocked.example")
    events = _events(g)
    blocked = next(e for e in events if e["target"] == "blocked.example")
    assert blocked["action"] == "block" and blocked["rule"] == "no-adult-content"
    assert blocked["address"] == "127.0.0.1" and blocked["group"] == "pupils"
    assert blocked["categories"] == ["pornography"] and blocked["extra"]["qtype"] == 1
    assert blocked["source"] == "dns" and blocked["kind"] == "decision"
    assert Event.from_record(blocked).at.tzinfo is not None  # one format: docs/events.md
    assert any(e["target"] == "allowed.example" and e["action"] == "allow" for e in events)


def _events(g: Gateway) -> list[dict]:
    g.journal.flush(timeout=5)
    return list(read_events(g.journal.directory))


def test_a_46_character_label_is_a_name_like_any_other(gateway) -> None:
    """A label's length byte can be 46, the code of ".": the parser must not take it for a dot
    inside a label (it answered FORMERR; found by bench/dns_bench.py's response codes)."""
    g = gateway()
    label = "a" * 46
    assert wire.parse_query(dns.message.make_query(f"q1.{label}.example", "A").to_wire()).name == (
        f"q1.{label}.example"
    )
    assert ask(g, f"q1.{label}.example").rcode() == dns.rcode.NXDOMAIN  # forwarded, answered
    assert ask(g, f"q2.{label}.blocked.example").answer  # blocked: the block page's address
    with pytest.raises(wire.WireError):
        wire.parse_query(
            b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03a.b\x00\x00\x01\x00\x01"
        )
