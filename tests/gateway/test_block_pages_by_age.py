"""Block and warn pages written for their reader: Foundation/KS1, older pupils, staff.

A real chromium through the real proxy, one proxy per group (identified by address). STM-234
(KS1: "I will only use activities that a teacher ... has told or allowed me to use"), STM-075,
SH-026. `SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/ (block-young.png, block-pupil.png,
block-staff.png); otherwise they go to the temporary folder, leaving the tree clean.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import parse_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.gateway.proxy.pages import Reader, reader_of
from tests.browser import CHROMIUM, launch_chromium
from tests.gateway.proxy_support import running_origin, running_proxy

pytestmark = pytest.mark.slow

SCREENS = (
    Path(__file__).resolve().parents[2] / "docs" / "screens"
    if os.environ.get("SCHOOLGATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "schoolgate-screens"
)

POLICY = """
schema_version: 1
school: {id: oak-primary, name: Oak Primary School, policy_title: Online Safety Policy}
contacts:
  - {role: dsl, title: Designated Safeguarding Lead}
groups:
  - {id: pupil-ks1, kind: pupil, title: Pupils in Foundation and Key Stage 1,
     agreement_required: false}
  - {id: pupil-ks2, kind: pupil, title: Pupils in Key Stage 2, agreement_required: false}
  - {id: staff, kind: staff, title: Staff, agreement_required: false}
filtering: {default_action: allow, default_group: pupil-ks1}
rules:
  - id: gambling
    groups: [all]
    categories: [gambling]
    action: block
    source:
      section: User Actions table – Unacceptable
      quote: "On-line gambling"
sites:
  - id: take-care
    title: Sites shown with a warning
    groups: [all]
    action: warn
    sites: [careful.test]
    source: {section: Filtering, quote: "Some sites are shown with a warning first"}
"""


def oak_decider() -> Decider:
    snapshot = compile_snapshot(parse_policy(POLICY, "oak.yaml"), [])
    snapshot.index.add_domain("bet.test", "gambling")
    return Decider(snapshot)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, "--proxy-bypass-list=<-loopback>")
        yield browser
        browser.close()


def test_the_reader_comes_from_the_groups_kind_and_title():
    policy = oak_decider().policy
    readers = [reader_of(policy.group(g)) for g in ("pupil-ks1", "pupil-ks2", "staff")]
    assert readers == [Reader.YOUNG, Reader.PUPIL, Reader.ADULT]
    assert reader_of(None) is Reader.ADULT


def _page_for(browser, tmp_path: Path, group: str, url: str, width: int = 800):
    SCREENS.mkdir(parents=True, exist_ok=True)
    decider = oak_decider()
    origin_cm = running_origin()
    origin = origin_cm.__enter__()
    proxy_cm = running_proxy(
        tmp_path / group,
        lambda: decider,
        hosts={"*.test": f"127.0.0.1:{origin.port}"},
        identify=lambda address: Subject(group=group),
    )
    proxy = proxy_cm.__enter__()
    context = browser.new_context(
        proxy={"server": f"http://127.0.0.1:{proxy.port}"},
        viewport={"width": width, "height": 760},
    )
    page = context.new_page()
    response = page.goto(url)

    def close() -> None:
        context.close()
        proxy_cm.__exit__(None, None, None)
        origin_cm.__exit__(None, None, None)

    return page, response, close


def test_a_ks1_child_sees_a_kind_page_with_a_picture_and_no_policy_words(tmp_path, browser):
    page, response, close = _page_for(browser, tmp_path, "pupil-ks1", "http://bet.test/", 390)
    try:
        assert response.status == 403
        text = page.inner_text("body")
        assert "ask your teacher" in text.lower()
        assert page.locator("svg#picture").count() == 1
        for absent in ("gambling", "On-line gambling", "rule", "Unacceptable"):
            assert absent not in text
        assert page.locator("input[type=checkbox]").count() == 0
        assert page.locator("#unblock, #report, #quote, #rule").count() == 0
        page.screenshot(path=str(SCREENS / "block-young.png"))
    finally:
        close()


def test_a_ks1_warn_page_asks_for_the_teacher_too(tmp_path, browser):
    page, response, close = _page_for(browser, tmp_path, "pupil-ks1", "http://careful.test/", 390)
    try:
        assert response.status == 403
        assert "ask your teacher" in page.inner_text("#kind").lower()
        assert page.locator("#quote, #rule, input[type=checkbox]").count() == 0
        page.click("#proceed")
        page.wait_for_url("http://careful.test/")
        assert page.inner_text("#origin") == "origin page for careful.test/"
    finally:
        close()


def test_a_ks2_pupil_reads_the_reason_in_plain_words(tmp_path, browser):
    page, response, close = _page_for(browser, tmp_path, "pupil-ks2", "http://bet.test/", 390)
    try:
        assert response.status == 403
        assert page.inner_text("#plain") == (
            "This website is blocked at school because it is about gambling."
        )
        assert not page.locator("#quote").is_visible()  # folded away until asked for
        page.screenshot(path=str(SCREENS / "block-pupil.png"))
        page.click("#details summary")
        assert page.inner_text("#rule") == "gambling"
        assert page.locator("#unblock").is_visible()
    finally:
        close()


def test_staff_see_the_rule_and_the_policy_quote(tmp_path, browser):
    page, response, close = _page_for(browser, tmp_path, "staff", "http://bet.test/")
    try:
        assert response.status == 403
        assert page.inner_text("#rule") == "gambling"
        assert "On-line gambling" in page.inner_text("#quote")
        assert "User Actions table" in page.inner_text("#quote")
        page.screenshot(path=str(SCREENS / "block-staff.png"))
    finally:
        close()
