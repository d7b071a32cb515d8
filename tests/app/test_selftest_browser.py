"""Real chromium: the network manager runs the filtering self-test against a running gateway on
127.0.0.1, sees the new pupils' test device flagged (it has not signed their agreement), signs
it, runs again and the test passes; the governor then finds it in the evidence pack (issue 12;
STM-004, STM-316, STM-318). `SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/selftest-*.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from schoolgate.app.reviews.models import SelfTestRun
from tests.gateway.selftest_support import running_gateway

from .browser_pages import BROWSER_TESTS, fits, shot, sign_in
from .conftest import make_user

pytestmark = BROWSER_TESTS


@pytest.fixture
def gateway(tmp_path: Path, settings):
    with running_gateway(tmp_path) as running:
        settings.SCHOOLGATE_SNAPSHOT = running.holder.path
        settings.SCHOOLGATE_GATEWAY_DNS = f"127.0.0.1:{running.dns.port}"
        settings.SCHOOLGATE_GATEWAY_PROXY = f"127.0.0.1:{running.proxy.port}"
        settings.SCHOOLGATE_SELFTEST_AS = "pupils=127.0.0.2,staff=127.0.0.3"
        bindings = tmp_path / "bindings.json"
        bindings.write_text(json.dumps({"127.0.0.4": {"group": "newcomers"}}))
        settings.SCHOOLGATE_BINDINGS_FILE = bindings
        yield running


def test_network_manager_runs_the_self_test_and_fixes_what_it_finds_stm_316(
    live_server, browser, transactional_db, gateway
) -> None:
    make_user("network-manager", "nina.network", first_name="Nina", last_name="Network")
    make_user("governor", "gill.governor", first_name="Gill", last_name="Governor")
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    sign_in(page, live_server.url, "nina.network", totp=True)
    page.click("header nav >> text=Reviews")
    page.click("main >> text=Filtering self-test")
    assert "No self-test has been run yet." in page.inner_text("main")
    page.click("#run-selftest")
    page.wait_for_url(re.compile(r"/filtering-reviews/self-test/\d+/$"))
    main = page.inner_text("main")
    assert "Failed" in main and "4 did not match the policy." in main
    newcomers = page.locator("#group-newcomers")
    assert newcomers.locator("details").get_attribute("open") is not None
    assert "✘ Agreement page" in newcomers.inner_text()
    assert "127.0.0.4 has not signed the group's agreement" in newcomers.inner_text()
    assert page.locator("#group-pupils details").get_attribute("open") is None
    assert page.locator("#matrix td.mismatch").count() == 3  # gambling, school list, warning
    shot(page, "selftest-mismatch")

    gateway.sign("127.0.0.4")  # on the device: the new pupils' agreement signed
    page.click("#run-selftest")
    page.wait_for_url(re.compile(r"/filtering-reviews/self-test/\d+/$"))
    assert "Passed" in page.inner_text("#summary")
    assert "Every answer matched the policy." in page.inner_text("#summary")
    page.click("#group-pupils summary")
    assert "✔ Blocked" in page.inner_text("#group-pupils")
    shot(page, "selftest-passed")
    page.set_viewport_size({"width": 390, "height": 800})
    fits(page)
    shot(page, "selftest-passed-390")
    assert SelfTestRun.objects.count() == 2
    assert gateway.origin.seen == []

    governor = browser.new_page(viewport={"width": 1100, "height": 800})
    sign_in(governor, live_server.url, "gill.governor")
    governor.goto(f"{live_server.url}/filtering-reviews/evidence/")
    item = governor.locator(".evidence-item", has_text="Filtering self-test")
    assert "Met" in item.inner_text() and "passed, 12 probes" in item.inner_text()
    item.locator("text=Latest self-test").click()
    assert "Passed" in governor.inner_text("#summary")
    assert governor.locator("#run-selftest").count() == 0  # governors read, do not run
