"""The filtering self-test against a running DNS resolver and proxy on 127.0.0.1 (issue 12).

SWGfL-style: per group and category, probe sites are decided by the running gateway and
compared with the policy (STM-004 annual monitoring; STM-316 sites that should have been
filtered; STM-318 illegal content blocked for every device). Everything is real: the resolver
and the proxy on sockets, groups told apart by the probes' source addresses (127.0.0.2 pupils,
127.0.0.3 staff, 127.0.0.4 new pupils) through the site's subnets, the journal on disk.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schoolgate.cli import main
from schoolgate.engine.decide import Decider
from schoolgate.events.journal import read_events
from schoolgate.events.schema import Event
from schoolgate.gateway import selftest
from schoolgate.monitor.rules import AlertRules
from tests.gateway.proxy_support import POLICY, running_proxy
from tests.gateway.selftest_support import ASKERS, running_gateway, snapshot


def outcomes(report: selftest.SelfTestReport) -> dict[tuple[str, str], tuple[str, str, str]]:
    return {(r.group, r.host): (r.expected, r.dns.outcome, r.proxy.outcome) for r in report.results}


@pytest.fixture
def gateway(tmp_path: Path):
    with running_gateway(tmp_path) as running:
        yield running


def test_probe_targets_are_the_first_listed_hosts_per_category_and_the_policys_own_sites():
    probes = selftest.probe_targets(snapshot(), per_category=2)
    assert probes == [
        selftest.Probe("gambling", "bet.test"),
        selftest.Probe("gambling", "casino.test"),
        selftest.Probe("site-list:blocked-for-pupils", "blocked.test"),
        selftest.Probe("site-list:caution", "warn.test"),
    ]
    assert selftest.probe_targets(snapshot(), per_category=1)[:2] == [
        selftest.Probe("gambling", "bet.test"),
        selftest.Probe("site-list:blocked-for-pupils", "blocked.test"),
    ]


def test_every_group_is_probed_through_dns_and_proxy_and_matches_the_policy(gateway) -> None:
    """STM-316, STM-318: blocked for pupils through both DNS and the proxy, allowed for staff;
    a warned site resolves (DNS cannot warn) and shows the warning page through the proxy."""
    dns, proxy, origin, holder = gateway.dns, gateway.proxy, gateway.origin, gateway.holder
    report = selftest.run_selftest(
        holder.snapshot, ("127.0.0.1", dns.port), ("127.0.0.1", proxy.port), ASKERS
    )
    table = outcomes(report)
    assert table[("pupils", "bet.test")] == ("block", "block", "block")
    assert table[("newcomers", "casino.test")] == ("block", "block", "agreement")
    assert {r.group for r in report.mismatches} == {"newcomers"}  # the device has not signed
    assert "has not signed" in report.mismatches[0].proxy.detail
    assert set(report.diagnoses()) == {"newcomers"}
    assert (
        "127.0.0.4 has not signed the group's acceptable use agreement"
        in (report.diagnoses()["newcomers"])
    )

    gateway.sign("127.0.0.4")
    report = selftest.run_selftest(
        holder.snapshot, ("127.0.0.1", dns.port), ("127.0.0.1", proxy.port), ASKERS
    )
    table = outcomes(report)
    assert table[("newcomers", "casino.test")] == ("block", "block", "block")
    assert table[("staff", "bet.test")] == ("allow", "allow", "allow")
    assert table[("pupils", "warn.test")] == ("warn", "allow", "warn")
    assert table[("staff", "blocked.test")] == ("allow", "allow", "allow")
    assert all(r.proxy.group == r.group for r in report.results)
    assert report.mismatches == [] and report.not_probed == {} and report.passed
    assert len(report.results) == 3 * 4
    assert origin.seen == []  # nothing was fetched, allowed probes included
    assert dns.upstream_server.received == []  # nor looked up: the resolver answered probes


def test_a_gateway_running_an_older_policy_is_caught(gateway) -> None:
    """The gateway still runs a policy without the gambling rule: every gambling probe for
    pupils is a mismatch, through DNS and the proxy alike."""
    dns, proxy = gateway.dns, gateway.proxy
    gateway.sign("127.0.0.4")
    older = POLICY.replace("categories: [gambling]", "categories: [dating]")
    gateway.republish(snapshot(older))
    report = selftest.run_selftest(
        snapshot(), ("127.0.0.1", dns.port), ("127.0.0.1", proxy.port), ASKERS
    )
    wrong = {(r.group, r.host, r.dns.outcome, r.proxy.outcome) for r in report.mismatches}
    assert wrong == {
        (group, host, "allow", "allow")
        for group in ("pupils", "newcomers")
        for host in ("bet.test", "casino.test")
    }
    assert not report.passed


def test_an_address_the_gateway_places_in_another_group_is_a_mismatch(gateway) -> None:
    """Asked as staff from an address the gateway does not know: the proxy says it decided for
    the default group (pupils), so every staff row is flagged."""
    dns, proxy, holder = gateway.dns, gateway.proxy, gateway.holder
    report = selftest.run_selftest(
        holder.snapshot,
        ("127.0.0.1", dns.port),
        ("127.0.0.1", proxy.port),
        {"staff": "127.0.0.9"},
    )
    assert {r.proxy.group for r in report.results} == {"pupils"}
    assert report.diagnoses() == {
        "staff": "the gateway puts 127.0.0.9 in group pupils, not staff: check the subnets and "
        "bindings, or ask from another address"
    }
    assert {r.host for r in report.mismatches} >= {"bet.test", "blocked.test"}
    assert set(report.not_probed) == {"pupils", "newcomers"}


def test_probes_are_journalled_as_self_test_and_raise_no_alert(gateway) -> None:
    """The journal shows the test ran through the gateway; the alert rules skip its probes."""
    dns, proxy, holder, journal = gateway.dns, gateway.proxy, gateway.holder, gateway.journal
    selftest.run_selftest(
        holder.snapshot, ("127.0.0.1", dns.port), ("127.0.0.1", proxy.port), {"pupils": "127.0.0.2"}
    )
    events = []
    for writer in (journal, dns.journal):
        writer.flush()
        events += [Event.from_record(r) for r in read_events(writer.directory)]
    assert {e.source for e in events} == {"dns", "proxy"}
    assert all(e.extra.get("selftest") is True for e in events)
    blocks = [e for e in events if e.action == "block"]
    assert blocks and all(e.address == "127.0.0.2" for e in blocks)
    rules = AlertRules(holder.snapshot.policy)
    assert [c for e in events for c in rules.feed(e)] == []
    real = Event.from_record({**blocks[0].to_record(), "extra": {}, "alert": "low"})
    assert rules.feed(real)  # the same block from a pupil would alert


def test_the_command_prints_the_report_and_fails_on_a_mismatch(gateway, tmp_path) -> None:
    dns, proxy, holder = gateway.dns, gateway.proxy, gateway.holder
    gateway.sign("127.0.0.4")
    path = tmp_path / "expected.sgs"
    holder.snapshot.save(path)
    bindings = tmp_path / "bindings.json"
    bindings.write_text(json.dumps({"127.0.0.3": {"group": "staff"}, "127.0.0.8": "apupil"}))
    base = ["selftest", "--snapshot", str(path), "--dns", f"127.0.0.1:{dns.port}"]
    base += ["--proxy", f"127.0.0.1:{proxy.port}", "--bindings", str(bindings)]
    base += ["--as", "pupils=127.0.0.2", "--as", "newcomers=127.0.0.4"]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main([*base, "--json"]) == 0
    data = json.loads(out.getvalue())
    assert data["passed"] and data["askers"] == ASKERS  # staff from the bound device
    assert selftest.SelfTestReport.from_json(data).passed

    gateway.republish(snapshot(POLICY.replace("categories: [gambling]", "categories: [dating]")))
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(base) == 1
    text = out.getvalue()
    assert "4 MISMATCHES" in text
    assert "MISMATCH pupils bet.test: expected block (rule no-gambling); DNS allow" in text


def test_the_expected_column_is_the_engines_decision_for_the_group():
    decider = Decider(snapshot())
    now = datetime.now(UTC)
    assert selftest.expected(decider, "pupils", "bet.test", now) == ("block", "no-gambling")
    assert selftest.expected(decider, "staff", "bet.test", now)[0] == "allow"


def test_a_proxy_that_asks_everyone_to_sign_in_is_reported_as_such(tmp_path: Path) -> None:
    """Groups are asked for by address; a proxy with require_auth answers 407 to every probe."""
    snap = snapshot()
    with running_proxy(tmp_path, lambda: Decider(snap), require_auth=True) as proxy:
        seen = selftest.ask_proxy(("127.0.0.1", proxy.port), "127.0.0.2", "bet.test")
    assert seen.outcome == "error" and "asks everyone to sign in" in seen.detail
