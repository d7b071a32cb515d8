"""The filtering self-test in the staff app, against a real gateway on 127.0.0.1 (issue 12).

The network manager runs it from the reviews pages; the run is stored whole, audited, shown as
group x category, kept as the evidence of the review's filtering check and pointed at by the
evidence pack (STM-004 annual monitoring, STM-316 sites that should have been filtered, STM-318
illegal content blocked on every device). Governors read it and cannot run it.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from django.urls import reverse

from schoolgate.app.audit.models import AuditEntry
from schoolgate.app.reviews.models import Review, SelfTestRun
from tests.gateway.proxy_support import POLICY
from tests.gateway.selftest_support import running_gateway, snapshot

from .conftest import signed_in


@pytest.fixture
def gateway(tmp_path: Path, settings):
    """The running gateway, and the staff app pointed at it: its snapshot, its resolver and
    proxy, pupils and staff asked from configured addresses, new pupils from a console device
    in the bindings file."""
    with running_gateway(tmp_path) as running:
        running.sign("127.0.0.4")
        settings.SCHOOLGATE_SNAPSHOT = running.holder.path
        settings.SCHOOLGATE_GATEWAY_DNS = f"127.0.0.1:{running.dns.port}"
        settings.SCHOOLGATE_GATEWAY_PROXY = f"127.0.0.1:{running.proxy.port}"
        settings.SCHOOLGATE_SELFTEST_AS = "pupils=127.0.0.2, staff=127.0.0.3"
        bindings = tmp_path / "bindings.json"
        bindings.write_text(json.dumps({"127.0.0.4": {"group": "newcomers"}}))
        settings.SCHOOLGATE_BINDINGS_FILE = bindings
        yield running


def test_the_network_manager_runs_it_and_the_run_is_kept_and_audited_stm_316(
    people, gateway
) -> None:
    client = signed_in(people["network-manager"])
    response = client.post(reverse("selftest-run"))
    run = SelfTestRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("selftest-run-detail", args=[run.pk])
    assert run.passed and run.mismatches == 0 and run.not_probed == 0
    assert run.probes == 3 * 4 and run.ran_by == people["network-manager"]
    assert run.report["askers"] == {
        "pupils": "127.0.0.2",
        "staff": "127.0.0.3",
        "newcomers": "127.0.0.4",
    }
    entry = AuditEntry.objects.get(action="review.selftest-run")
    assert entry.detail == {"passed": True, "probes": 12, "mismatches": 0}
    assert gateway.origin.seen == []  # nothing was fetched

    page = client.get(response["Location"]).content.decode()
    assert "Passed" in page and "School list: blocked-for-pupils" in page
    assert 'class="mismatch"' not in page and "Every answer matched the policy." in page


def test_a_gateway_on_an_older_policy_shows_each_mismatch_stm_318(
    people, gateway, settings, tmp_path
) -> None:
    """The app expects the policy it published; the gateway still runs one without the
    gambling rule: each gambling probe for pupils and new pupils is flagged."""
    snapshot().save(tmp_path / "published.sgs")
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "published.sgs"
    gateway.republish(snapshot(POLICY.replace("categories: [gambling]", "categories: [dating]")))
    client = signed_in(people["network-manager"])
    client.post(reverse("selftest-run"))
    run = SelfTestRun.objects.get()
    assert not run.passed and run.mismatches == 4
    page = client.get(reverse("selftest")).content.decode()
    assert page.count('<tr class="mismatch">') == 4
    assert "✘ Allowed</strong>, should be blocked" in page


def test_a_gateway_that_is_down_fails_fast_and_says_so(people, gateway, settings) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        settings.SCHOOLGATE_GATEWAY_PROXY = f"127.0.0.1:{closed.getsockname()[1]}"
    client = signed_in(people["network-manager"])
    started = time.monotonic()
    client.post(reverse("selftest-run"))
    assert time.monotonic() - started < 10
    run = SelfTestRun.objects.get()
    assert not run.passed and run.mismatches == run.probes
    assert "No answer" in client.get(reverse("selftest")).content.decode()


def test_governors_read_it_but_cannot_run_it_and_teachers_see_nothing(people, gateway) -> None:
    assert signed_in(people["governor"]).get(reverse("selftest")).status_code == 200
    assert signed_in(people["governor"]).post(reverse("selftest-run")).status_code == 403
    assert signed_in(people["teacher"]).get(reverse("selftest")).status_code == 403
    assert signed_in(people["pupil"]).post(reverse("selftest-run")).status_code == 403
    assert not SelfTestRun.objects.exists()


def test_the_review_keeps_the_latest_run_and_the_evidence_pack_points_at_it_stm_004(
    people, gateway
) -> None:
    manager, governor = signed_in(people["network-manager"]), signed_in(people["governor"])
    pack = governor.get(reverse("evidence-pack")).content.decode()
    assert "No self-test run" in pack
    manager.post(reverse("selftest-run"))
    run = SelfTestRun.objects.get()
    form = governor.get(reverse("review-new")).content.decode()
    assert reverse("selftest-run-detail", args=[run.pk]) in form
    governor.post(
        reverse("review-new"),
        {"checked": ["filtering-check"], "outcome": "Filtering works.", "position": "Governor"},
    )
    assert Review.objects.get().selftest == run
    pack = governor.get(reverse("evidence-pack")).content.decode()
    assert "Filtering self-test through the running gateway" in pack
    assert reverse("selftest-run-detail", args=[run.pk]) in pack
    assert "No self-test run" not in pack
