"""The network manager's console in a real browser (Debian's chromium, Playwright), issue 13.

The network manager signs in with TOTP and lands on the dashboard; finds a pupil's blocked
search in the query log; asks "why is this blocked?" from that row; adds a device; answers an
unblock request; everything also fits a 390 px phone screen. A teacher is refused the query log.
`SCHOOLGATE_SCREENSHOTS=1` refreshes the screenshots in docs/screens/ (console-*.png).
"""

from __future__ import annotations

import json

from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.gateway.proxy.records import RequestLog

from .browser_pages import BROWSER_TESTS, fits, shot, sign_in
from .conftest import make_user
from .console_support import configure, console_files, fill_store, some_events

pytestmark = BROWSER_TESTS


def test_network_manager_finds_a_blocked_search_tests_the_url_and_edits_a_device(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    files = console_files(tmp_path)
    configure(settings, files)
    fill_store(files, some_events())
    RequestLog(files.state / "requests.jsonl").add(
        {
            "type": "unblock-request",
            "at": "2026-12-01T10:00:00+00:00",
            "url": "http://games.test/maths",
            "message": "Times-tables game for Year 9 catch-up",
            "subject": "user:pupil-1",
            "user": "pupil-1",
            "address": "10.0.0.7",
            "group": "ks3-pupils",
        }
    )
    make_user("network-manager", "nia-network", first_name="Nia", last_name="Network")
    make_user("teacher", "tom-teacher", first_name="Tom", last_name="Teacher")
    base = live_server.url

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, base, "nia-network", totp=True)
    page.wait_for_selector("h1 >> text=Filtering dashboard")  # the home page
    assert page.inner_text("#total") == "4" and page.inner_text("#share") == "50.0%"
    assert page.locator("svg.chart rect").count() >= 24
    shot(page, "console-dashboard")

    # The query log: one pupil's blocked activity.
    page.click("header >> text=Query log")
    page.fill("#id_user", "pupil-1")
    page.select_option("#id_action", "block")
    page.click("#filters button[type=submit]")
    page.wait_for_selector("#log >> text=search: poker games")
    assert page.locator("#log tr").count() == 3  # header + 2
    shot(page, "console-query-log")

    # From the row to "why is this blocked?", with the same engine as the gateway.
    page.click("#log a >> text=gambling >> nth=0")
    page.wait_for_selector("#verdict")
    assert page.inner_text("#verdict") == "Blocked for ks3-pupils"
    assert page.inner_text("#rule") == "gambling"
    assert "On-line gambling" in page.inner_text("#quote")
    page.fill("#id_url", "http://games.test/")
    page.select_option("#id_group", "staff")
    page.click("#tester button[type=submit]")
    page.wait_for_selector("#verdict >> text=Warned (may continue) for staff")
    shot(page, "console-why-blocked")

    # A device, published to the gateway's bindings file.
    page.on("dialog", lambda dialog: dialog.accept())  # "Remove …?" confirmations
    page.click("header >> text=Devices")
    page.click("#add-device")
    page.fill("#id_name", "Year 9 trolley")
    page.fill("#id_address", "10.20.9.0/26")
    page.select_option("#id_group", "ks3-pupils")
    page.click("#save")
    page.wait_for_selector("#devices >> text=Year 9 trolley")
    assert json.loads(files.bindings.read_text()) == {"10.20.9.0/26": {"group": "ks3-pupils"}}
    assert Device.objects.count() == 1
    shot(page, "console-devices")

    # The unblock request, answered.
    page.click("header >> text=Requests")
    page.click("#requests >> text=01 Dec")
    page.check("input[value=answered]")
    page.fill("#id_response", "Use the maths site on the learning platform for now.")
    page.click("#send")
    page.wait_for_selector("text=Answer sent")
    assert UnblockRequest.objects.get().status == "answered"
    page.goto(f"{base}/console/requests/?status=answered")
    shot(page, "console-requests")

    # Everything fits a phone.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/console/", "/console/queries/?user=pupil-1", "/console/why-blocked/",
                 "/console/devices/", "/console/requests/?status=all"):  # fmt: skip
        page.goto(base + path)
        fits(page, 390)
    page.goto(base + "/console/")
    shot(page, "console-dashboard-phone")
    page.close()

    teacher = browser.new_page()
    sign_in(teacher, base, "tom-teacher", totp=False)
    response = teacher.goto(f"{base}/console/queries/?user=pupil-1")
    assert response.status == 403
    assert "poker" not in teacher.content()
    teacher.close()
