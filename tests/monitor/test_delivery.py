"""Delivery that cannot silently fail: outbox, retries, deadlines and the call order (issue 8).

A real SMTP server (aiosmtpd) and a real HTTP webhook receiver on 127.0.0.1; STM-007.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schoolgate.engine.policy.loader import load_policy
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore
from schoolgate.monitor.delivery import DeliverySettings
from schoolgate.monitor.mailsink import MailSink
from schoolgate.monitor.outbox import Outbox
from schoolgate.monitor.service import Monitor

REPO = Path(__file__).resolve().parents[2]
ADDRESSES = {
    "dsl": "dsl@school.test",
    "principal": "principal@school.test",
    "online-safety-coordinator": "osc@school.test",
}
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def policy():
    return load_policy(REPO / "policies" / "st-thomas-more.yaml")


def _search(at: datetime, user: str = "pupil-1") -> Event:
    return Event(
        at=at,
        source="proxy",
        address="10.0.2.7",
        user=user,
        group="pupil-ks2",
        target="http://www.google.com/search?q=qzxsecret",
        search="qzxsecret",
        action="allow",
        rule="search-self-harm",
        alert="critical",
        notify=("dsl", "principal", "online-safety-coordinator"),
        keywords=("qzxsecret",),
    )


def _monitor(tmp_path, policy, settings, clock=None) -> Monitor:
    return Monitor(
        policy=policy,
        journal=tmp_path / "journal",
        store=EventStore.open(tmp_path / "events.sqlite3"),
        outbox=Outbox(tmp_path / "outbox.sqlite3"),
        settings=settings,
        clock=clock,
        poll=0.05,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_mail_waits_in_the_outbox_while_the_server_is_down(tmp_path, policy) -> None:
    port = _free_port()
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=port, addresses=ADDRESSES)
    monitor = _monitor(tmp_path, policy, settings, clock=lambda: TUESDAY_10)
    monitor._on_events([_search(TUESDAY_10 + timedelta(seconds=i)) for i in range(3)])
    assert monitor.deliver_due() == 0
    waiting = monitor.outbox.all("email")
    assert len(waiting) == 3 and all(d.state == "pending" and d.last_error for d in waiting)
    sink = MailSink()
    sink.start(port)  # the mail server comes back
    try:
        monitor.start()
        assert sink.wait_for(3, timeout=15)
        assert _wait(lambda: monitor.outbox.counts() == {"delivered": 3})
        assert sorted(r[0] for r in sink.recipients) == sorted(ADDRESSES.values())
        assert len(sink.messages) == 3  # one per contact, once: repeats are counted, not re-sent
        message = sink.messages[0]
        assert message["Subject"].startswith("[Schoolgate] CRITICAL self-harm: pupil-1")
        assert "qzxsecret" not in message.get_content()  # search terms stay in the staff app
        assert monitor.outbox.counts() == {"delivered": 3}
        assert monitor.outbox.latency()["count"] == 3
    finally:
        monitor.stop()
        sink.stop()


def test_a_restarted_monitor_still_sends_what_was_queued(tmp_path, policy) -> None:
    port = _free_port()
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=port, addresses=ADDRESSES)
    first = _monitor(tmp_path, policy, settings, clock=lambda: TUESDAY_10)
    first._on_events([_search(TUESDAY_10)])
    first.deliver_due()
    first.outbox.close()  # the monitor stops (or is killed) with three messages waiting
    sink = MailSink()
    sink.start(port)
    try:
        second = _monitor(tmp_path, policy, settings)
        second.start()
        assert sink.wait_for(3, timeout=15)
        second.stop()
    finally:
        sink.stop()


class _Receiver(http.server.BaseHTTPRequestHandler):
    answers: list[int]
    bodies: list[dict]

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        status = self.answers.pop(0) if self.answers else 200
        if status == 200:
            self.bodies.append(json.loads(body))
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


def test_webhook_that_is_down_gets_the_alert_when_it_returns(tmp_path, policy) -> None:
    handler = type("Receiver", (_Receiver,), {"answers": [503, 503], "bodies": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    settings = DeliverySettings(webhooks=[url])
    monitor = _monitor(tmp_path, policy, settings, clock=lambda: TUESDAY_10)
    try:
        monitor._on_events([_search(TUESDAY_10)])
        monitor.start()
        assert _wait(lambda: monitor.outbox.counts().get("delivered"), timeout=20)
        [body] = handler.bodies
        assert (body["theme"], body["alert"], body["user"]) == ("self-harm", "critical", "pupil-1")
        [delivery] = monitor.outbox.all("webhook")
        assert delivery.state == "delivered" and delivery.attempts == 3
    finally:
        monitor.stop()
        server.shutdown()


def test_out_of_hours_call_order_moves_on_when_a_contact_cannot_be_reached(
    tmp_path, policy
) -> None:
    sink = MailSink()
    sink.start()
    addresses = {"principal": "principal@school.test"}  # the DSL has no address on file
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=sink.port, addresses=addresses)
    monitor = _monitor(tmp_path, policy, settings, clock=lambda: SATURDAY_22)
    try:
        monitor._on_events([_search(SATURDAY_22)])
        emails = monitor.outbox.all("email")
        assert [(d.role, d.call_order, d.state) for d in emails] == [
            ("dsl", 0, "pending"),
            ("principal", 1, "held"),
        ]
        monitor.start()
        assert sink.wait_for(1)
        assert sink.recipients == [["principal@school.test"]]
        dsl = monitor.outbox.all("email")[0]
        assert dsl.state == "failed" and "no email address for role 'dsl'" in dsl.last_error
        missed = monitor.store.query(kind="delivery-missed")
        assert missed and missed[0].extra["role"] == "dsl"
    finally:
        monitor.stop()
        sink.stop()


def _last_staffed_moment() -> datetime:
    """10:00 school time on the latest weekday at least an hour ago: inside St Thomas More's
    staffed hours whatever time of day the test runs (it failed after 18:00 before)."""
    london = ZoneInfo("Europe/London")
    moment = (datetime.now(london) - timedelta(hours=1)).replace(
        hour=10, minute=0, second=0, microsecond=0
    )
    while moment.weekday() >= 5 or moment > datetime.now(london) - timedelta(hours=1):
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def test_a_missed_deadline_escalates(tmp_path, policy) -> None:
    routes = [
        r.model_copy(update={"within": "1 minutes"}) if r.level.value == "critical" else r
        for r in policy.alert_routes
    ]
    calls = policy.monitoring.model_copy(
        update={"out_of_hours": ["dsl", "principal", "assistant-principal"]}
    )
    strict = policy.model_copy(update={"alert_routes": routes, "monitoring": calls})
    port = _free_port()  # the mail server is down
    addresses = ADDRESSES | {"assistant-principal": "ap@school.test"}
    settings = DeliverySettings(smtp_host="127.0.0.1", smtp_port=port, addresses=addresses)
    long_ago = _last_staffed_moment()  # in staffed hours the route, not the call list, applies
    monitor = _monitor(tmp_path, strict, settings, clock=lambda: long_ago)
    monitor._on_events([_search(long_ago)])
    assert monitor.escalate_due() == 3  # all three route messages are past their deadline
    escalations = [d for d in monitor.outbox.all("email") if d.message_key.endswith("escalation")]
    # Escalated to the first in the call order not yet told, once.
    assert [d.destination for d in escalations] == ["ap@school.test"]
    assert escalations[0].payload["subject"].startswith("[Escalated]")
    assert monitor.escalate_due() == 0  # each missed message escalates once
    sink = MailSink()
    sink.start(port)
    try:
        monitor.start()
        assert sink.wait_for(3 + len(escalations))
        assert _wait(lambda: monitor.outbox.counts() == {"delivered": 3 + len(escalations)})
        assert monitor.outbox.latency()["missed"] == 3
    finally:
        monitor.stop()
        sink.stop()
