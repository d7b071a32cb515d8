"""Done means (issue 8): a KS2 device runs 10 self-harm searches through the real proxy →
within 5 s exactly one email to the DSL (a real SMTP server) and one alert and case with count
10 and the context bundle; at 22:00 on a Saturday the out-of-hours contact is mailed instead;
a teacher cannot open that pupil's history. STM-007, STM-032, STM-040, STM-267.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import OperationalError
from django.urls import reverse

from schoolgate.app.alerts.models import Alert
from schoolgate.app.cases.models import Case
from schoolgate.events.journal import JournalWriter
from schoolgate.events.store import EventStore
from schoolgate.gateway.agreement_state import AgreementState, CompleteAgreement
from schoolgate.gateway.identity import Identity
from schoolgate.monitor.delivery import DeliverySettings
from schoolgate.monitor.mailsink import MailSink
from schoolgate.monitor.outbox import Outbox
from schoolgate.monitor.service import Monitor
from tests.gateway.proxy_support import running_origin, running_proxy

from .conftest import make_user, signed_in

SEARCH = "http://www.google.com/search?q=how+to+kill+myself"
ADDRESSES = {
    "dsl": "dsl@stm.test",
    "principal": "principal@stm.test",
    "online-safety-coordinator": "osc@stm.test",
}
TUESDAY_10 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)


def _wait(condition, timeout: float) -> bool:
    """Poll; the live server shares the in-memory test database, which may be busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except OperationalError:
            pass
        time.sleep(0.05)
    return False


def _both_signed(proxy, decider) -> None:
    """Both pupils and their parents signed the KS2 agreement (the staff app publishes it)."""
    gate = proxy.pages.agreements.gate(decider, "pupil-ks2")
    complete = CompleteAgreement(gate.version, datetime.now(UTC), None)
    entries = {f"user:{p}": {gate.agreement_id: complete} for p in ("amy-ks2", "ben-ks2")}
    proxy.pages.agreements.state = AgreementState(None, entries)


def _to(sink: MailSink, address: str) -> int:
    return sum(1 for rcpts in sink.recipients if address in rcpts)


@pytest.mark.slow
def test_ten_self_harm_searches_reach_the_dsl_once(
    tmp_path: Path, decider_for, live_server, transactional_db
) -> None:
    decider = decider_for("st-thomas-more")
    make_user("pupil", "amy-ks2", year="5")
    make_user("pupil", "ben-ks2", year="6")
    dsl = make_user("dsl", "dana-dsl")
    teacher = make_user("teacher", "tom-teacher")
    now = {"moment": TUESDAY_10}
    identity = Identity(bindings_file=tmp_path / "bindings.json")
    identity.bind("127.0.0.1", "amy-ks2", "pupil-ks2")
    journal = JournalWriter(tmp_path / "journal", flush_interval=0.05)
    sink = MailSink(folder=tmp_path / "mail")
    sink.start()
    monitor = Monitor(
        policy=decider.policy,
        journal=tmp_path / "journal",
        store=EventStore.open(tmp_path / "events.sqlite3"),
        outbox=Outbox(tmp_path / "outbox.sqlite3"),
        settings=DeliverySettings(
            smtp_host="127.0.0.1",
            smtp_port=sink.port,
            addresses=ADDRESSES,
            app_url=live_server.url,
            app_token="test-alert-token",
        ),
        clock=lambda: now["moment"],
    ).start()
    try:
        with (
            running_origin() as origin,
            running_proxy(
                tmp_path,
                lambda: decider,
                hosts={"www.google.com": f"127.0.0.1:{origin.port}"},
                identify=identity.identify,
                journal=journal,
            ) as proxy,
        ):
            _both_signed(proxy, decider)
            started = time.monotonic()
            for _ in range(10):
                status, _, _ = proxy.get(SEARCH)
                assert status == 200  # help-seeking is never blocked: monitored, not refused
            assert sink.wait_for(1, timeout=5)
            assert time.monotonic() - started < 5
            assert _wait(lambda: Alert.objects.filter(count=10).exists(), timeout=5)
            assert time.monotonic() - started < 5 + 1  # the app's count settles with the mail
            time.sleep(1.0)  # nothing more may arrive for the DSL
            assert _to(sink, ADDRESSES["dsl"]) == 1
            alert = Alert.objects.get()
            assert (alert.user, alert.theme, alert.level, alert.count) == (
                "amy-ks2",
                "self-harm",
                "critical",
                10,
            )
            context = alert.context["events"]
            assert len(context) == 10 and all(e["search"] for e in context)
            case = Case.objects.get()
            assert alert.case == case and case.alert["count"] == 10
            assert [p.username for p in case.involved.all()] == ["amy-ks2"]

            # A teacher cannot open the pupil's history; the DSL can.
            history = reverse("alert-history", args=["amy-ks2"])
            assert signed_in(teacher).get(history).status_code == 403
            assert signed_in(dsl).get(history).status_code == 200

            # Saturday, 22:00: another pupil, the same searches.
            now["moment"] = SATURDAY_22
            identity.bind("127.0.0.1", "ben-ks2", "pupil-ks2")
            before = len(sink.messages)
            for _ in range(10):
                proxy.get(SEARCH)
            assert sink.wait_for(before + 1, timeout=5)
            time.sleep(1.0)
            late = sink.recipients[before:]
            assert late == [[ADDRESSES["dsl"]]]  # first in the out-of-hours call order, only
            assert _wait(lambda: Alert.objects.filter(user="ben-ks2", count=10).exists(), 5)
            held = [d for d in monitor.outbox.all("email") if d.state == "held"]
            assert [d.role for d in held] == ["principal"]  # next in the call order, waiting
    finally:
        monitor.stop()
        journal.close()
        sink.stop()
