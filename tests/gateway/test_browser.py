"""A real browser (Debian's chromium, driven by Playwright) through the filtering proxy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schoolgate.engine.decide import Decider, Subject
from tests.browser import CHROMIUM, launch_chromium
from tests.gateway.proxy_support import running_origin, running_proxy, test_snapshot

SEND_LOOPBACK_THROUGH_PROXY = "--proxy-bypass-list=<-loopback>"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, SEND_LOOPBACK_THROUGH_PROXY)
        yield browser
        browser.close()


def test_browser_sees_allowed_pages_block_pages_and_can_click_through_a_warning(tmp_path, browser):
    decider = Decider(test_snapshot())
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path, lambda: decider, hosts={"*.test": f"127.0.0.1:{origin.port}"}
        ) as proxy,
    ):
        context = browser.new_context(proxy={"server": f"http://127.0.0.1:{proxy.port}"})
        page = context.new_page()

        page.goto("http://allowed.test/welcome")
        assert page.locator("#origin").inner_text() == "origin page for allowed.test/welcome"

        response = page.goto("http://www.blocked.test/games")
        assert response is not None and response.status == 403
        assert page.title() == "This site is blocked · Test Academy"
        assert "the school has put it on its list" in page.inner_text("#plain")
        page.click("#details summary")  # pupils see the rule only when they ask for it
        assert page.locator("#rule").inner_text() == "blocked-for-pupils"
        assert "Pupils must not visit sites the school has blocked" in page.inner_text("#quote")
        page.click("#unblock")
        assert page.url.startswith("http://gate.test/unblock?url=")
        page.fill("#message", "We need it for the Year 6 project")
        page.check("#responsible")
        page.click("#send")
        assert "sent to the staff" in page.inner_text("#message")

        page.goto("http://warn.test/story")
        assert page.title() == "Are you sure? · Test Academy"
        page.click("#proceed")
        page.wait_for_url("http://warn.test/story")
        assert page.locator("#origin").inner_text() == "origin page for warn.test/story"

        with pytest.raises(Exception, match="ERR_TUNNEL_CONNECTION_FAILED"):
            page.goto("https://blocked.test/")
        context.close()
    pages = [s["path"] for s in origin.seen if s["path"] != "/favicon.ico"]
    assert pages == ["/welcome", "/story"]


def test_browser_is_sent_to_the_agreement_and_signs_it(tmp_path, browser):
    decider = Decider(test_snapshot())
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path,
            lambda: decider,
            hosts={"*.test": f"127.0.0.1:{origin.port}"},
            identify=lambda address: Subject(group="newcomers"),
        ) as proxy,
    ):
        context = browser.new_context(proxy={"server": f"http://127.0.0.1:{proxy.port}"})
        page = context.new_page()
        page.goto("http://allowed.test/homework")
        assert page.url.startswith("http://gate.test/agreement?next=")
        assert page.inner_text("#agreement-title") == "Pupil Acceptable Use Agreement"
        page.check("#agree")
        page.click("#sign")
        page.wait_for_url("http://allowed.test/homework")
        assert page.locator("#origin").inner_text() == "origin page for allowed.test/homework"
        context.close()
