"""Real chromium: the DSL withdraws an approved filter change with a reason, the change list
and the change-control log say who withdrew it and why, and a change whose end time has passed
reads "Expired" (issue 12; STM-314, STM-315, STM-320). `SCHOOLGATE_SCREENSHOTS=1` refreshes
docs/screens/governance-withdraw*.png and governance-expired.png."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from schoolgate.app.governance.models import FilterChange
from schoolgate.app.governance.publish import publish
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot

from .browser_pages import BROWSER_TESTS, fits, shot, sign_in
from .conftest import make_user

HERE = Path(__file__).resolve().parent

pytestmark = BROWSER_TESTS


def test_the_dsl_withdraws_an_approved_change_stm_315(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    policy = tmp_path / "policy.yaml"
    shutil.copy(HERE / "policy.yaml", policy)
    settings.SCHOOLGATE_POLICY = policy
    settings.SCHOOLGATE_SNAPSHOT = tmp_path / "snapshot.sgs"
    settings.SCHOOLGATE_GATEWAY_STATE = tmp_path / "gateway"
    compile_snapshot(load_policy(policy), []).save(settings.SCHOOLGATE_SNAPSHOT)
    nina = make_user("network-manager", "nina.network", first_name="Nina", last_name="Network")
    olly = make_user("online-safety-coordinator", "olly.osc", first_name="Olly", last_name="Osc")
    make_user("dsl", "dee.lead", first_name="Dee", last_name="Lead")
    change = FilterChange.objects.create(
        action="allow",
        groups=["ks3-pupils"],
        sites=["tudors.example"],
        reason="Year 8 Tudors project",
        proposed_by=nina,
    )
    change.decide(olly, approve=True, note="Agreed")
    expired = FilterChange.objects.create(
        action="allow",
        groups=["ks3-pupils"],
        sites=["*"],
        users=["pupil-1"],
        until=timezone.now() + timedelta(minutes=1),
        reason="Supervised research task",
        proposed_by=nina,
    )
    expired.decide(olly, approve=True)
    FilterChange.objects.filter(pk=expired.pk).update(until=timezone.now() - timedelta(hours=2))
    publish()
    assert len(load_policy(policy).approved_changes) == 2

    page = browser.new_page(viewport={"width": 1100, "height": 800})
    sign_in(page, live_server.url, "dee.lead", totp=True)
    page.goto(f"{live_server.url}/filter-changes/{change.pk}/")
    assert page.inner_text("#status") == "Approved"
    page.fill("#withdraw-note", "The project has finished")
    shot(page, "governance-withdraw")
    page.click("#withdraw-button")
    page.wait_for_selector("#withdrawn")
    assert page.inner_text("#status") == "Withdrawn"
    assert "Dee Lead" in page.inner_text("#withdrawn")
    assert "The project has finished" in page.inner_text("#withdrawn")
    assert page.locator("#withdraw-button").count() == 0
    assert [c.id for c in load_policy(policy).approved_changes] == [expired.pk]
    shot(page, "governance-withdrawn")

    page.goto(f"{live_server.url}/filter-changes/")
    decided = page.inner_text("#decided")
    assert "Withdrawn" in decided and "Expired" in decided
    page.goto(f"{live_server.url}/filter-changes/{expired.pk}/")
    assert page.inner_text("#status") == "Expired"
    assert "the filter no longer applies it" in page.inner_text("main")
    assert page.locator("#withdraw-button").count() == 0
    shot(page, "governance-expired")
    page.goto(f"{live_server.url}/filter-changes/log/")
    log = page.inner_text("#log")
    assert "Withdrawn by Dee Lead" in log and "The project has finished" in log
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{live_server.url}/filter-changes/{change.pk}/")
    fits(page)
