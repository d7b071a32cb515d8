"""Optional HTTPS inspection through the real proxy, real TLS and real HTTPS origins on
127.0.0.1 (docs/https-limits.md). Requirement ids: STM-079 / STM-210 (use is monitored and
users are told), SH-024 / TM-006 (search terms scanned), STM-154 (block pages), SH-097 (safe
search)."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from schoolgate.commands.demo import SEARCH
from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.events.schema import Event
from schoolgate.monitor.rules import AlertRules
from tests.gateway.https_support import (
    HTTPS_POLICY,
    ORIGIN_NAMES,
    client_context,
    https_origin,
    https_snapshot,
    make_certificates,
    make_inspector,
)
from tests.gateway.proxy_support import running_proxy


def _get(proxy_port: int, host: str, path: str, context: ssl.SSLContext):
    conn = http.client.HTTPSConnection("127.0.0.1", proxy_port, timeout=10, context=context)
    conn.set_tunnel(host, 443)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read().decode()
        issuer = dict(x[0] for x in conn.sock.getpeercert()["issuer"])
        return response.status, body, issuer["organizationName"]
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path: Path):
    certs = make_certificates(tmp_path)
    decider = Decider(https_snapshot())
    journal = JournalWriter(tmp_path / "journal", flush_interval=0.01)
    with https_origin(certs.origin_ca) as origin, https_origin(certs.untrusted_ca) as bad:
        hosts = {name: f"127.0.0.1:{origin.port}" for name in ORIGIN_NAMES}
        hosts["untrusted.test"] = f"127.0.0.1:{bad.port}"
        inspector = make_inspector(certs, decider)
        with running_proxy(
            tmp_path, lambda: decider, hosts=hosts, journal=journal, inspector=inspector
        ) as proxy:
            yield certs, proxy, origin, journal, tmp_path / "journal"
    journal.close()


def test_inspected_search_is_decided_on_its_terms_alerts_and_gets_safe_search(world):
    certs, proxy, origin, journal, journal_dir = world
    parts = urlsplit(SEARCH)
    status, _, issuer = _get(
        proxy.port, parts.hostname, f"{parts.path}?{parts.query}", client_context(certs.school)
    )
    assert issuer == "Test Academy"  # the proxy answered as www.google.com with the school CA
    assert status == 200
    seen = origin.seen[-1]
    assert seen["path"].endswith("&safe=active")  # SH-097: safe search by parameter
    assert seen["headers"]["Host"] == "www.google.com"
    journal.flush()
    events = [e for e in read_events(journal_dir) if e.get("extra", {}).get("method") == "GET"]
    assert len(events) == 1
    event = events[0]
    assert event["search"] and event["search"] in parts.query.replace("+", " ")
    assert event["alert"] in ("high", "critical")
    assert event["rule"] == "search-self-harm"
    assert event["target"].startswith("https://www.google.com/search?")
    # The monitor reads the same journal: the inspected search raises a self-harm alert.
    rules = AlertRules(parse_policy(HTTPS_POLICY, "test-academy.yaml"))
    for record in read_events(journal_dir):
        rules.feed(Event.from_record(record))
    assert [(a.theme, a.level.value) for a in rules.alerts] == [("self-harm", event["alert"])]
    assert rules.alerts[0].target == event["target"]


def test_never_inspect_host_is_tunnelled_untouched(world):
    certs, proxy, origin, _, _ = world
    status, body, issuer = _get(
        proxy.port, "bank.test", "/account", client_context(certs.origin_ca)
    )
    assert issuer == "Origin Test"  # the origin's own certificate, end to end
    assert status == 200 and "origin page for bank.test/account" in body
    assert "Via" not in origin.seen[-1]["headers"]


def test_host_not_on_the_inspect_list_is_tunnelled(world):
    certs, proxy, _, _, _ = world
    _, _, issuer = _get(proxy.port, "plain.test", "/", client_context(certs.origin_ca))
    assert issuer == "Origin Test"


def test_blocked_host_gets_the_school_block_page_over_https(world):
    certs, proxy, origin, _, _ = world
    before = len(origin.seen)
    status, body, issuer = _get(
        proxy.port, "blocked.test", "/page?x=1", client_context(certs.school)
    )
    assert issuer == "Test Academy"
    assert status == 403
    assert "Test Academy" in body and "blocked.test" in body
    assert len(origin.seen) == before  # nothing reached the blocked site


def test_bad_upstream_certificate_is_refused_with_an_explanation(world):
    certs, proxy, _, journal, journal_dir = world
    status, body, issuer = _get(proxy.port, "untrusted.test", "/", client_context(certs.school))
    assert issuer == "Test Academy"
    assert status == 502
    assert "not safe to open" in body
    assert "authority that is not trusted" in body
    journal.flush()
    refused = [e for e in read_events(journal_dir) if e["kind"] == "upstream-certificate-refused"]
    assert refused and refused[0]["target"] == "https://untrusted.test/"
    assert refused[0]["extra"]["problem"].endswith("authority that is not trusted")


def test_device_without_the_school_ca_gets_a_certificate_error_not_the_site(world):
    certs, proxy, origin, _, _ = world
    before = len(origin.seen)
    with pytest.raises(ssl.SSLCertVerificationError):
        _get(proxy.port, "inspected.test", "/", client_context(certs.origin_ca))
    assert len(origin.seen) == before


def test_inspection_off_still_shows_block_pages_and_tunnels_the_rest(tmp_path: Path):
    certs = make_certificates(tmp_path)
    decider = Decider(https_snapshot(HTTPS_POLICY.replace("enabled: true", "enabled: false")))
    with https_origin(certs.origin_ca) as origin:
        hosts = {name: f"127.0.0.1:{origin.port}" for name in ORIGIN_NAMES}
        inspector = make_inspector(certs, decider)
        with running_proxy(tmp_path, lambda: decider, hosts=hosts, inspector=inspector) as proxy:
            _, _, issuer = _get(
                proxy.port, "www.google.com", "/search?q=maths", client_context(certs.origin_ca)
            )
            assert issuer == "Origin Test"
            assert origin.seen[-1]["path"] == "/search?q=maths"  # untouched
            status, _, issuer = _get(proxy.port, "blocked.test", "/", client_context(certs.school))
            assert (status, issuer) == (403, "Test Academy")


def test_blocked_never_inspect_host_is_refused_without_decrypting(tmp_path: Path):
    certs = make_certificates(tmp_path)
    text = HTTPS_POLICY.replace("never_inspect: [bank.test]", "never_inspect: [blocked.test]")
    decider = Decider(https_snapshot(text))
    inspector = make_inspector(certs, decider)
    with running_proxy(tmp_path, lambda: decider, inspector=inspector) as proxy:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", proxy.port, timeout=10, context=client_context(certs.school)
        )
        conn.set_tunnel("blocked.test", 443)
        with pytest.raises(OSError, match="403"):
            conn.request("GET", "/")
        conn.close()


def test_agreement_first_over_https_redirects_to_the_agreement(tmp_path: Path):
    certs = make_certificates(tmp_path)
    decider = Decider(https_snapshot())
    inspector = make_inspector(certs, decider)
    with running_proxy(
        tmp_path,
        lambda: decider,
        identify=lambda address: Subject(group="newcomers"),
        inspector=inspector,
    ) as proxy:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", proxy.port, timeout=10, context=client_context(certs.school)
        )
        conn.set_tunnel("plain.test", 443)  # not inspected, but refused: the page is shown
        conn.request("GET", "/lesson?x=1")
        response = conn.getresponse()
        response.read()
        conn.close()
    assert response.status == 302
    location = response.getheader("Location")
    assert location.startswith("http://gate.test/agreement?next=https%3A%2F%2Fplain.test%2Flesson")
