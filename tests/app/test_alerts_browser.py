"""A pupil's monitoring history in a real browser (Debian chromium): readable on a phone.

Issue 8; STM-267. `SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/alert-history*.png.
"""

from __future__ import annotations

import json
import os

from django.test import Client
from django.urls import reverse

from tests.browser import launch_chromium

from .browser_pages import BROWSER_TESTS, SCREENS
from .conftest import make_user, signed_in

pytestmark = BROWSER_TESTS


def _alert() -> dict:
    searches = ["volcano homework", "how do volcanoes erupt", "ks2 volcano worksheet"]
    events = [
        {"at": f"2026-11-24T10:0{i}:00.000000Z", "action": "allow", "search": s,
         "target": f"https://www.google.com/search?q={s.replace(' ', '+')}", "categories": []}
        for i, s in enumerate(searches)
    ] + [{"at": "2026-11-24T10:05:00.000000Z", "action": "block", "search": None,
          "target": "https://games.example/play", "categories": ["games"]}]  # fmt: skip
    return {
        "theme": "repeated-blocks",
        "level": "low",
        "user": "amy-ash",
        "address": "10.20.3.17",
        "group": "pupil-ks2",
        "count": 12,
        "first": "2026-11-24T10:00:00Z",
        "last": "2026-11-24T10:05:00Z",
        "notify": ["online-safety-coordinator"],
        "context": {"window_minutes": 30, "events": events},
    }


def test_history_page_for_a_safeguarding_lead(live_server, transactional_db) -> None:
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    make_user("pupil", "amy-ash", first_name="Amy", last_name="Ashworth", year="5")
    dsl = make_user("dsl", "dana-lead", first_name="Dana", last_name="Lead")
    posted = Client().post(
        reverse("api-alerts"),
        json.dumps(_alert()),
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer test-alert-token",
    )
    assert posted.status_code == 201
    session = signed_in(dsl).cookies["sessionid"].value
    url = f"{live_server.url}{reverse('alert-history', args=['amy-ash'])}"
    try:
        with sync_playwright() as playwright:
            chromium = launch_chromium(playwright)
            for width, name in ((1200, "alert-history"), (390, "alert-history-phone")):
                context = chromium.new_context(viewport={"width": width, "height": 800})
                context.add_cookies([{"name": "sessionid", "value": session, "url": url}])
                page = context.new_page()
                page.goto(url)
                assert "12 attempts" in page.inner_text("main")
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                SCREENS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
                context.close()
            chromium.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
