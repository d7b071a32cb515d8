"""The network manager's console (issue 13): why-blocked tester, devices published to the
gateway, the unblock-request queue, the query log (audited) and the dashboard.

Real parts throughout: a compiled snapshot, the SQLite event store, the gateway's bindings and
request files, and for the device test a running proxy reached from another loopback address.
STM-081, STM-099, STM-318, SH-026.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.console import views as console_views
from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.engine.decide import Decider
from schoolgate.engine.snapshot import load_snapshot
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.proxy.records import RequestLog
from tests.gateway.proxy_support import running_origin, running_proxy

from .conftest import signed_in
from .console_support import configure, console_files, fill_store, some_events


@pytest.fixture
def files(settings, tmp_path):
    files = console_files(tmp_path)
    configure(settings, files)
    return files


def test_network_manager_home_is_the_dashboard(people, files) -> None:
    client = signed_in(people["network-manager"])
    assert client.get(reverse("home"))["Location"] == reverse("console-dashboard")


# Why is this blocked? ------------------------------------------------------------------------


def test_tester_shows_the_decision_rule_and_quote_from_the_gateways_snapshot(people, files):
    client = signed_in(people["network-manager"])
    page = client.get(
        reverse("console-tester"), {"url": "https://bet.test/", "group": "ks3-pupils"}
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Blocked for ks3-pupils" in text
    assert '<dd id="rule">gambling</dd>' in text
    assert "On-line gambling" in text and str(files.snapshot) in text
    staff = client.get(reverse("console-tester"), {"url": "http://games.test/", "group": "staff"})
    assert "Warned (may continue) for staff" in staff.content.decode()


def test_tester_finds_a_users_group_and_says_what_is_wrong(people, files):
    people["pupil"].policy_group = "ks3-pupils"
    people["pupil"].save()
    client = signed_in(people["network-manager"])
    page = client.get(reverse("console-tester"), {"url": "games.test", "user": "pupil-1"})
    assert '<dd id="rule">pupil-games</dd>' in page.content.decode()
    missing = client.get(reverse("console-tester"), {"url": "games.test", "user": "nobody"})
    assert "No user &#x27;nobody&#x27; with a policy group" in missing.content.decode()
    bad = client.get(reverse("console-tester"), {"url": "http://[::1", "group": "staff"})
    assert "errorlist" in bad.content.decode()
    assert AuditEntry.objects.filter(action="console.url-tested").count() == 1


def test_tester_follows_a_recompiled_snapshot(people, files):
    client = signed_in(people["network-manager"])
    args = {"url": "https://bet.test/", "group": "staff"}
    assert (
        '<dd id="rule">gambling</dd>'
        in client.get(reverse("console-tester"), args).content.decode()
    )
    snapshot = load_snapshot(files.snapshot)
    snapshot.index.domains.pop("bet.test")
    snapshot.save(files.snapshot)
    assert "Allowed for staff" in client.get(reverse("console-tester"), args).content.decode()


# Devices ----------------------------------------------------------------------------------


def test_devices_are_published_to_the_bindings_file_keeping_other_entries(people, files):
    files.bindings.write_text(json.dumps({"10.9.9.9": {"user": "logged-on"}}))
    client = signed_in(people["network-manager"])
    response = client.post(
        reverse("console-device-new"),
        {"name": "Library PCs", "address": "10.20.3.7/24", "group": "staff", "user": ""},
    )
    assert response.status_code == 302
    device = Device.objects.get()
    assert device.address == "10.20.3.0/24"
    assert json.loads(files.bindings.read_text()) == {
        "10.20.3.0/24": {"group": "staff"},
        "10.9.9.9": {"user": "logged-on"},
    }
    client.post(reverse("console-device-delete", args=[device.pk]))
    assert json.loads(files.bindings.read_text()) == {"10.9.9.9": {"user": "logged-on"}}
    actions = list(AuditEntry.objects.values_list("action", flat=True))
    assert "console.device-saved" in actions and "console.device-removed" in actions


def test_a_bad_device_says_which_field_and_changes_nothing(people, files):
    client = signed_in(people["network-manager"])
    page = client.post(
        reverse("console-device-new"), {"name": "x", "address": "10.0.0.300", "group": "staff"}
    )
    assert "Enter an IP address (10.20.3.4) or an address range" in page.content.decode()
    page = client.post(
        reverse("console-device-new"), {"name": "x", "address": "10.0.0.3", "group": "nope"}
    )
    assert "Select a valid choice" in page.content.decode()
    assert not Device.objects.exists() and not files.bindings.exists()


def test_a_device_edit_reaches_the_running_proxy_without_a_restart(people, files, tmp_path):
    """127.0.0.2 is filtered as the default pupil group until the console binds it to staff."""
    decider = Decider(load_snapshot(files.snapshot))
    identity = Identity(bindings_file=files.bindings)
    client = signed_in(people["network-manager"])
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path / "proxy",
            lambda: decider,
            hosts={"*.test": f"127.0.0.1:{origin.port}"},
            identify=identity.identify,
        ) as proxy,
    ):

        def page_title() -> str:
            conn = http.client.HTTPConnection(
                "127.0.0.1", proxy.port, timeout=10, source_address=("127.0.0.2", 0)
            )
            try:
                conn.request("GET", "http://games.test/")
                body = conn.getresponse().read().decode()
            finally:
                conn.close()
            return body.split("<title>", 1)[1].split(" ·", 1)[0]

        assert page_title() == "This site is blocked"  # pupils: pupil-games blocks games
        client.post(
            reverse("console-device-new"),
            {"name": "Staff room PC", "address": "127.0.0.2", "group": "staff"},
        )
        deadline = time.monotonic() + 5
        title = page_title()
        while title == "This site is blocked" and time.monotonic() < deadline:
            time.sleep(0.2)
            title = page_title()
        assert title == "Are you sure?"  # staff: staff-games warns, from the same proxy
    assert origin.seen == []


# Unblock requests ---------------------------------------------------------------------------


def _file_requests(files) -> RequestLog:
    log = RequestLog(files.state / "requests.jsonl")
    for i, kind in enumerate(("unblock-request", "problem-report")):
        log.add(
            {
                "type": kind,
                "at": f"2026-12-01T10:0{i}:00+00:00",
                "url": f"http://site{i}.test/",
                "message": "Needed for the Year 9 project",
                "subject": "user:pupil-1",
                "user": "pupil-1",
                "address": "10.0.0.7",
                "group": "ks3-pupils",
            }
        )
    return log


def test_requests_from_the_block_pages_arrive_once_each(people, files):
    _file_requests(files)
    with (files.state / "requests.jsonl").open("a") as out:
        out.write("{not json\n")
    client = signed_in(people["network-manager"])
    first = client.get(reverse("console-requests"))
    assert first.status_code == 200
    assert "requests.jsonl:3: not a request record" in first.content.decode()
    client.get(reverse("console-requests"))
    assert UnblockRequest.objects.count() == 2
    assert "http://site0.test/" in first.content.decode()


def test_answering_a_request_reaches_the_requester(people, files):
    log = _file_requests(files)
    client = signed_in(people["dsl"])
    client.get(reverse("console-requests"))
    item = UnblockRequest.objects.get(kind="unblock-request")
    url = reverse("console-request", args=[item.pk])
    refused = client.post(url, {"status": "declined", "response": "Not this time"})
    assert "Say why it is declined." in refused.content.decode()
    client.post(url, {"status": "declined", "response": "Not this time", "reason": "gambling"})
    item.refresh_from_db()
    assert (item.status, item.decided_by, item.reason) == ("declined", people["dsl"], "gambling")
    mine = log.mine("user:pupil-1")
    answered = [r for r in mine if r["answer"]]
    assert [(r["url"], r["answer"]["status"], r["answer"]["message"]) for r in answered] == [
        ("http://site0.test/", "declined", "Not this time")
    ]
    assert AuditEntry.objects.filter(action="console.request-answered").count() == 1


# Query log -------------------------------------------------------------------------------------


def test_query_log_finds_a_pupils_blocked_search_and_audits_the_look(people, files):
    fill_store(files, some_events())
    client = signed_in(people["network-manager"])
    page = client.get(reverse("console-query-log"), {"user": "pupil-1", "action": "block"})
    text = page.content.decode()
    assert page.status_code == 200
    assert "search: poker games" in text and "bet.test" in text
    assert "www.bbc.co.uk" not in text
    entry = AuditEntry.objects.filter(action="console.query-log-viewed").latest("id")
    assert entry.detail["user"] == "pupil-1" and entry.detail["rows"] == 2
    by_category = client.get(reverse("console-query-log"), {"category": "games"}).content.decode()
    assert "games.test" in by_category and "bet.test" not in by_category


def test_query_log_pages_with_a_cursor(people, files, monkeypatch):
    fill_store(files, some_events())
    monkeypatch.setattr(console_views, "PAGE_SIZE", 3)
    client = signed_in(people["deputy-dsl"])
    first = client.get(reverse("console-query-log"), {"user": ""})
    assert first.context["next_url"]
    second = client.get(reverse("console-query-log") + first.context["next_url"])
    assert [e.target for e in second.context["rows"]] == [
        "https://www.google.com/search?q=poker+games"
    ]


# Dashboard -------------------------------------------------------------------------------------


def test_dashboard_counts_charts_and_gateway_health(people, files):
    fill_store(files, some_events())
    listening = socket.create_server(("127.0.0.1", 0))
    closed = socket.create_server(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    (files.state / "services.json").write_text(
        json.dumps(
            {
                "proxy": f"127.0.0.1:{listening.getsockname()[1]}",
                "dns": f"127.0.0.1:{closed_port}",
            }
        )
    )
    client = signed_in(people["network-manager"])
    try:
        page = client.get(reverse("console-dashboard"))
    finally:
        listening.close()
    month = client.get(reverse("console-dashboard"), {"range": "30d"}).context["summary"]
    assert (month.total, month.blocked) == (4, 2)  # from the day rollups
    # whole UTC days covering the 30 days to the next hour: 31, or 30 when that hour is a
    # midnight (the test failed between 23:00 and 00:00 UTC when it expected 31 always)
    now, days = datetime.now(UTC), [b.hour for b in month.buckets]
    window_end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    assert days[0] <= window_end - timedelta(days=30)
    assert days[-1] <= now < days[-1] + timedelta(days=1)
    assert len(days) in (30, 31)
    text = page.content.decode()
    summary = page.context["summary"]
    assert (summary.total, summary.blocked, summary.warned) == (4, 2, 1)
    assert round(summary.blocked_share) == 50
    assert summary.top_blocked_hosts == [("bet.test", 1), ("www.google.com", 1)]
    assert ("10.0.0.7", 2) in summary.devices
    assert '<svg class="chart"' in text and "4 queries" not in text
    assert '<span class="up">up</span>' in text and "not answering" in text
    assert 'id="snapshot-age"' in text


def test_day_rankings_count_closed_days_once_and_today_live(people, files):
    """The 7- and 30-day rankings keep the days before today for ten minutes and add today's
    rows on every request: a site blocked today overtakes yesterday's leaders at once."""
    from datetime import UTC, datetime, timedelta

    from schoolgate.app.console import events as console_events
    from schoolgate.events.schema import Event

    now = datetime.now(UTC)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(hours=12)
    old = [Event(at=yesterday, source="dns", target=f"old{i}.test", action="block",
                 address="10.0.0.7", group="ks3-pupils") for i in range(3)]  # fmt: skip
    fill_store(files, old * 2)
    client = signed_in(people["network-manager"])
    first = client.get(reverse("console-dashboard"), {"range": "7d"}).context["summary"]
    assert first.top_blocked_hosts[:3] == [("old0.test", 2), ("old1.test", 2), ("old2.test", 2)]
    fill_store(files, [Event(at=max(today, now - timedelta(seconds=5)), source="dns",
                             target="new.test", action="block")] * 3)  # fmt: skip
    second = client.get(reverse("console-dashboard"), {"range": "7d"}).context["summary"]
    assert second.top_blocked_hosts[0] == ("new.test", 3)
    assert ("old0.test", 2) in second.top_blocked_hosts
    # earlier today: a closed hour of today (counted from the hour rollups), or this hour at 00:xx
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    earlier = max(today, this_hour - timedelta(minutes=30))
    fill_store(files, [Event(at=earlier, source="dns", target="old2.test", action="block")] * 2)
    console_events._closed.clear()
    third = client.get(reverse("console-dashboard"), {"range": "30d"}).context["summary"]
    assert third.top_blocked_hosts[:4] == [
        ("old2.test", 4), ("new.test", 3), ("old0.test", 2), ("old1.test", 2)
    ]  # fmt: skip
    assert (third.total, third.blocked) == (11, 11)
    assert console_events._closed  # the closed days were counted once and kept


def test_hour_rankings_count_closed_hours_once_and_this_hour_live(people, files):
    """The 24-hour rankings keep the hours before this one for ten minutes and add this hour's
    rollup rows on every request: exact, and a site blocked now overtakes the earlier leaders."""
    from datetime import UTC, datetime, timedelta

    from schoolgate.app.console import events as console_events
    from schoolgate.events.schema import Event

    now = datetime.now(UTC)
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    earlier = [Event(at=this_hour - timedelta(hours=3), source="dns", target=f"old{i}.test",
                     action="block", address="10.0.0.7", group="ks3-pupils")
               for i in range(3)]  # fmt: skip
    fill_store(files, earlier * 2)
    client = signed_in(people["network-manager"])
    first = client.get(reverse("console-dashboard"), {"range": "24h"}).context["summary"]
    assert first.top_blocked_hosts == [("old0.test", 2), ("old1.test", 2), ("old2.test", 2)]
    assert first.devices == [("10.0.0.7", 6)]
    keys = [k for k in console_events._closed if k[3] == console_events.HOUR_US]
    assert keys  # the 23 closed hours were counted once and kept
    fill_store(files, [Event(at=max(this_hour, now - timedelta(seconds=5)), source="dns",
                             target="old1.test", action="block", address="10.0.0.8")] * 3
               + [Event(at=max(this_hour, now - timedelta(seconds=5)), source="dns",
                        target="new.test", action="block", address="10.0.0.8")])  # fmt: skip
    second = client.get(reverse("console-dashboard"), {"range": "24h"}).context["summary"]
    assert second.top_blocked_hosts == [
        ("old1.test", 5), ("old0.test", 2), ("old2.test", 2), ("new.test", 1)
    ]  # fmt: skip
    assert second.devices == [("10.0.0.7", 6), ("10.0.0.8", 4)]
    assert (second.total, second.blocked) == (10, 10)
