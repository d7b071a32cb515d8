"""The policy's `filtering.fail_mode` applied when filtering fails (issue 8): `closed` blocks,
`open` lets the request through unfiltered and journals that it did (docs/events.md).

Filtering is made to fail the way a damaged snapshot would: the decider's list index is gone,
so every lookup raises. Everything else is real: the DNS resolver and the proxy on sockets, a
real upstream and origin server, the Squid helper's line protocol, the journal on disk.
"""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.query
import pytest

from schoolgate.engine.decide import Decider
from schoolgate.events.journal import JournalWriter, read_events
from schoolgate.events.schema import Event
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.squid_helper import SquidHelper
from tests.gateway.dns_harness import Gateway
from tests.gateway.policy_fixtures import make_snapshot
from tests.gateway.proxy_support import POLICY, running_origin, running_proxy, test_snapshot


def broken_decider(fail_mode: str) -> Decider:
    policy = POLICY.replace(
        "filtering: {default_group: pupils}",
        f"filtering: {{default_group: pupils, fail_mode: {fail_mode}}}",
    )
    assert f"fail_mode: {fail_mode}" in policy
    decider = Decider(test_snapshot(policy))
    decider.index = None  # the snapshot's list index cannot be read: every lookup raises
    return decider


def journalled(directory: Path) -> list[Event]:
    return [Event.from_record(record) for record in read_events(directory)]


@pytest.fixture
def origin():
    with running_origin() as origin:
        yield origin


def test_proxy_fails_closed_with_the_block_page(tmp_path: Path, origin) -> None:
    decider = broken_decider("closed")
    journal = JournalWriter(tmp_path / "journal")
    hosts = {"*.test": f"127.0.0.1:{origin.port}"}
    with running_proxy(tmp_path, lambda: decider, hosts=hosts, journal=journal) as proxy:
        status, _, body = proxy.get("http://allowed.test/lesson")
    journal.close()
    assert status == 403 and "<html" in body  # the block page
    assert origin.seen == []
    (event,) = journalled(tmp_path / "journal")
    assert (event.action, event.rule) == ("block", "fail-closed")


def test_proxy_fails_open_and_journals_what_went_through(tmp_path: Path, origin) -> None:
    decider = broken_decider("open")
    journal = JournalWriter(tmp_path / "journal")
    hosts = {"*.test": f"127.0.0.1:{origin.port}"}
    with running_proxy(tmp_path, lambda: decider, hosts=hosts, journal=journal) as proxy:
        status, _, body = proxy.get("http://allowed.test/lesson")
    journal.close()
    assert status == 200 and "origin page" in body
    (event,) = journalled(tmp_path / "journal")
    assert (event.action, event.rule) == ("allow", "fail-open")
    assert event.extra["unfiltered"] == "AttributeError"


@pytest.mark.parametrize(("fail_mode", "verdict"), [("closed", "ERR"), ("open", "OK")])
def test_squid_helper_applies_the_fail_mode(tmp_path: Path, fail_mode: str, verdict: str) -> None:
    decider = broken_decider(fail_mode)
    with JournalWriter(tmp_path / "journal") as journal:
        helper = SquidHelper(lambda: decider, "acl", "http://gate.test", journal=journal)
        answer = helper.answer("7 10.0.0.7 - GET http://allowed.test/x\n")
    assert answer.split()[:2] == ["7", verdict]
    (event,) = journalled(tmp_path / "journal")
    assert event.rule == f"fail-{fail_mode}" and event.source == "squid"
    assert ("unfiltered" in event.extra) == (fail_mode == "open")


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
def test_dns_applies_the_fail_mode(tmp_path: Path, fail_mode: str) -> None:
    snapshot = make_snapshot(tmp_path, block_response=f"block-page\n  fail_mode: {fail_mode}")
    holder = SnapshotHolder(snapshot=snapshot)
    holder.decider.index = None  # the snapshot's list index cannot be read
    g = Gateway(snapshot, tmp_path / "journal", holder=holder)
    try:
        query = dns.message.make_query("allowed.example", "A")
        reply = dns.query.udp(query, "127.0.0.1", port=g.port, timeout=5)
        g.journal.flush(timeout=5)
        (event,) = journalled(tmp_path / "journal")
    finally:
        g.close()
    answers = [r.to_text() for rrset in reply.answer for r in rrset]
    if fail_mode == "closed":
        assert answers == ["127.0.0.1"]  # the block page's address
        assert (event.action, event.rule) == ("block", "fail-closed")
    else:
        assert answers == ["192.0.2.10"]  # the upstream's answer, unfiltered
        assert (event.action, event.rule) == ("allow", "fail-open")
        assert event.extra["unfiltered"] == "AttributeError"
