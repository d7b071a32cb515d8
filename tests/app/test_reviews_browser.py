"""Real chromium: the governor reads the roles register and the DfE evidence pack, which shows
an overdue review and the untrained staff, signs off the annual review from the keyboard, and
the pack no longer flags the review (issue 12; STM-004, STM-006, STM-017, HG-001).
`SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/reviews-*.png."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from django.utils import timezone

from schoolgate.app.reviews.models import Review

from .browser_pages import BROWSER_TESTS, shot
from .conftest import PASSWORD, make_user

POLICIES = Path(__file__).resolve().parents[2] / "policies"

pytestmark = BROWSER_TESTS


def test_evidence_pack_shows_overdue_review_and_untrained_staff_stm_006(
    live_server, browser, transactional_db, settings
) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "heanor-gate.yaml"
    make_user("governor", "gill.governor", first_name="Gill", last_name="Governor")
    make_user(
        "teacher",
        "una.trained",
        first_name="Una",
        last_name="Trained",
        date_joined=timezone.now() - timedelta(days=400),
    )
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "gill.governor")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.click("header nav >> text=Reviews")
    page.click("text=Roles register")
    register = page.locator("#register")
    assert "Stephen Huntington" in register.inner_text()
    assert "Post only, no person named (Governors)" in register.inner_text()
    shot(page, "reviews-roles-register")

    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    page.goto(f"{live_server.url}/filtering-reviews/evidence/")
    review_item = page.locator(".evidence-item", has_text="Annual filtering and monitoring review")
    assert "Review overdue since 1 December 2017" in review_item.inner_text()
    training = page.locator(".evidence-item", has_text="Staff trained in filtering")
    assert "Una Trained: Online safety induction" in training.inner_text()
    shot(page, "reviews-evidence-pack")
    page.set_viewport_size({"width": 390, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "reviews-evidence-pack-390")

    # Sign off the review, from the keyboard.
    page.set_viewport_size({"width": 1100, "height": 800})
    page.goto(f"{live_server.url}/filtering-reviews/new/")
    page.focus("#c-roles")
    page.keyboard.press("Space")
    page.check("#c-generative-ai")
    page.check("#c-filtering-check")
    page.fill("#outcome", "Filtering and monitoring fit the school; AI image tools to be blocked.")
    page.fill("#position", "Online Safety Governor")
    shot(page, "reviews-sign-off")
    page.focus("main button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/filtering-reviews/\d+/$"))
    assert "Signed off by Gill Governor" in page.inner_text("main")
    review = Review.objects.get()
    assert review.checklist["roles"] and review.checklist["generative-ai"]
    page.goto(f"{live_server.url}/filtering-reviews/evidence/")
    review_item = page.locator(".evidence-item", has_text="Annual filtering and monitoring review")
    assert "overdue" not in review_item.inner_text() and "Met" in review_item.inner_text()
    page.goto(f"{live_server.url}/filtering-reviews/")
    assert "Next review due" in page.inner_text("#due")
    shot(page, "reviews-list")
