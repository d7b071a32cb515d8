"""The DSL's workspace in a real browser (Debian's chromium via Playwright), issue 13.

A teacher raises a safeguarding concern by keyboard alone (people picker included); the monitor
posts an alert over real HTTP; the DSL signs in with TOTP, triages the alert into a concern,
assigns it and adds a task; the deputy, in a browser context of their own, is notified and
opens it; the pupil's chronology shows alert, concern and actions in order; every DSL page
fits a 390 px phone screen. `SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/.
"""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta

from schoolgate.app.alerts.models import Alert
from schoolgate.app.concerns.models import Concern

from .browser_pages import BROWSER_TESTS, fits, shot, sign_in
from .conftest import make_user

pytestmark = BROWSER_TESTS


def _post_alert(base: str, username: str) -> dict:
    now = datetime.now(UTC)
    at = [(now + timedelta(seconds=i)).isoformat() for i in range(5)]
    body = {
        "id": f"{username}|self-harm|1",
        "theme": "self-harm",
        "level": "high",
        "user": username,
        "address": "10.0.4.17",
        "group": "ks3-pupils",
        "count": 4,
        "first": at[0],
        "last": at[4],
        "notify": ["dsl"],
        # Benign stand-ins: distressing text stays out of screenshots and test output.
        "context": {
            "window_minutes": 30,
            "events": [
                {
                    "at": at[i],
                    "action": "allow",
                    "target": "https://www.google.co.uk/search?q=example",
                    "search": f"example search {i}",
                    "categories": ["search-engines"],
                }
                for i in range(1, 5)
            ],
        },
    }
    request = urllib.request.Request(
        f"{base}/api/alerts/",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer test-alert-token", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_teacher_raises_dsl_triages_alert_into_concern_deputy_is_told(
    live_server, browser, transactional_db
) -> None:
    base = live_server.url
    make_user("teacher", "tom-teacher", first_name="Tom", last_name="Teacher")
    make_user("dsl", "dana-lead", first_name="Dana", last_name="Lead")
    make_user("deputy-dsl", "dev-deputy", first_name="Dev", last_name="Deputy")
    pupil = make_user("pupil", "amy-ash", first_name="Amy", last_name="Ashworth")
    make_user("pupil", "ben-bell", first_name="Ben", last_name="Bell", registration_group="9C")

    # A teacher raises a concern with the keyboard only.
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    sign_in(page, base, "tom-teacher")
    page.click("text=Raise a safeguarding concern")
    page.focus("#id_category")
    page.select_option("#id_category", "bullying")
    page.keyboard.press("Tab")
    page.keyboard.type("Ash")
    page.wait_for_selector("#id_pupils-results button")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_selector(".chosen >> text=Amy Ashworth")
    page.fill("#id_summary", "Upset after messages in a group chat")
    page.fill("#id_details", "Amy said messages about her were shared in a class group chat.")
    shot(page, "concern-raise")
    page.click("#concern-form button[type=submit]")
    page.wait_for_selector("#concern-sent")
    raised = Concern.objects.get()
    assert list(raised.pupils.all()) == [pupil] and raised.category == "bullying"
    assert page.goto(f"{base}/concerns/{raised.pk}/").status == 403  # not the teacher's to read
    page.close()

    # The monitor posts an alert over real HTTP.
    answer = _post_alert(base, "amy-ash")
    alert = Alert.objects.get(pk=answer["alert"])

    # The DSL triages it into a concern.
    page = browser.new_page(viewport={"width": 1200, "height": 900}, locale="en-GB")
    sign_in(page, base, "dana-lead", totp=True)
    assert page.inner_text("#notifications-link").strip().endswith("1")  # the teacher's concern
    page.wait_for_selector("#work-alerts >> text=Self-harm and suicide")  # home: My work
    shot(page, "my-work")
    page.click("header >> text=Alerts inbox")
    page.wait_for_selector("#alerts >> text=Self-harm and suicide")
    shot(page, "alert-inbox")
    page.click("#alerts >> text=Self-harm and suicide")
    page.wait_for_selector("#context >> text=example search 4")
    assert page.is_visible("#triage-form") and not page.is_visible("#assign-form")
    page.check("#triage-form input[value=true-positive]")
    page.fill("#triage-form [name=reason]", "Repeated searches; see Amy today")
    assert page.input_value("#triage-form [name=category]") == "self-harm"  # from the policy
    page.select_option("#triage-form [name=priority]", "urgent")
    page.select_option(
        "#triage-form [name=assigned_to]", label="Dev Deputy (Deputy safeguarding lead)"
    )
    shot(page, "alert-detail")
    page.click("#triage-form button[type=submit]")
    page.wait_for_selector("#concern-category >> text=Self-harm")
    concern = Concern.objects.exclude(pk=raised.pk).get()
    alert.refresh_from_db()
    assert alert.status == "triaged" and alert.work.concern == concern
    assert concern.assigned_to.username == "dev-deputy" and concern.priority == "urgent"
    timeline = page.inner_text("#timeline")
    assert "Opened from monitoring alert" in timeline and "concern." not in timeline

    # Add a task: the step opens from the keyboard.
    page.focus("#step-task summary")
    page.keyboard.press("Enter")
    page.fill("#task-form [name=title]", "Talk to Amy and her parents")
    page.select_option(
        "#task-form [name=assigned_to]", label="Dev Deputy (Deputy safeguarding lead)"
    )
    page.fill("#task-form [name=due]", "2026-12-04")
    page.click("#task-form button[type=submit]")
    page.wait_for_selector("#tasks >> text=Talk to Amy and her parents")
    shot(page, "concern-detail")

    page.click("#concern-facts >> text=Amy Ashworth")
    page.wait_for_selector("#chronology")
    rows = page.inner_text("#chronology tbody")
    order = [rows.index(s) for s in ("Raised as Bullying", "Monitoring alert", "Triaged: True")]
    assert order == sorted(order)
    shot(page, "chronology")

    page.goto(f"{base}/concerns/?q=Ash")
    page.wait_for_selector(f"#concerns >> text={concern.reference}")
    shot(page, "concern-list")
    dsl_session = page.context.storage_state()
    page.close()

    # The deputy, in a browser context of their own, is notified and opens the concern.
    deputy_context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-GB")
    deputy = deputy_context.new_page()
    sign_in(deputy, base, "dev-deputy", totp=True)
    deputy.click("#notifications-link")
    texts = deputy.inner_text("#notifications")
    assert "assigned" not in texts or concern.reference in texts
    assert "Task on" in texts
    deputy.click("#notifications li:has-text('Task on') button")
    deputy.wait_for_selector(f"h1 >> text={concern.reference}")
    deputy_context.close()

    # The DSL on a phone: 390 px wide, nothing spills off the side.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        locale="en-GB",
        storage_state=dsl_session,
    )
    page = phone.new_page()
    for path in (
        f"/concerns/{concern.pk}/",
        "/my-work/",
        "/inbox/",
        f"/inbox/alerts/{alert.pk}/",
        "/concerns/",
        f"/pupils/{pupil.pk}/chronology/",
        "/concerns/new/",
        f"/cases/{alert.case_id}/",
    ):
        assert page.goto(base + path).status == 200, path
        assert page.url == base + path  # still signed in, not sent to sign-in
        fits(page)
    page.goto(f"{base}/concerns/{concern.pk}/")
    shot(page, "concern-detail-390")
    page.goto(f"{base}/cases/{alert.case_id}/")
    shot(page, "case-detail-390")
    phone.close()
