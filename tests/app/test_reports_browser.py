"""Real chromium: the Chair of Governors opens the termly report for Cavendish (charts of
blocks, alerts and incidents, nothing that names anyone), checks it prints on A4, signs it off
in their own session; the DSL then sees the sign-off but has no form, and a forged sign-off POST
from the DSL's session is refused (issue 12; CAV-075, CAV-S12, STM-016, STM-018).
`SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/governors-*.png."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from schoolgate.app.alerts.models import Alert
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.concerns.models import AlertWork
from schoolgate.app.console import events as console_events
from schoolgate.app.reports.models import TermReportSignOff
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore

from .browser_pages import BROWSER_TESTS, fits, shot, sign_in
from .conftest import make_user

POLICIES = Path(__file__).resolve().parents[2] / "policies"
LONDON = ZoneInfo("Europe/London")

pytestmark = BROWSER_TESTS


def _a_term_of_records(tmp_path: Path) -> str:
    """Autumn 2025 at Cavendish: blocks in the event store, alerts, incidents."""
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    blocks = {
        ("pupil", "pornography"): 41,
        ("pupil", "games"): 230,
        ("pupil", "proxy"): 17,
        ("pupil", "gambling"): 9,
        ("staff", "gambling"): 3,
        ("pupil", "self-harm"): 6,
    }
    events = []
    for (group, category), count in blocks.items():
        for i in range(count):
            at = datetime(2025, 9, 8, 9, tzinfo=LONDON) + timedelta(days=i % 90, minutes=i)
            events.append(
                Event(
                    at=at,
                    source="dns",
                    group=group,
                    target=f"{category}.test",
                    action="block",
                    categories=(category,),
                    rule=category,
                )
            )
    events += [
        Event(
            at=datetime(2025, 10, 1, 9, tzinfo=LONDON) + timedelta(minutes=i),
            source="dns",
            group="pupil",
            target="bbc.co.uk",
            action="allow",
        )
        for i in range(700)
    ]
    with EventStore.open(url) as store:
        store.append(events)
    return url


def _alerts_and_incidents() -> None:
    first = datetime(2025, 10, 6, 10, tzinfo=LONDON)
    for n, (theme, minutes) in enumerate(
        [("self-harm", 12)] * 6 + [("bullying", 45)] * 5 + [("extremism", 60 * 30)] * 2
    ):
        alert = Alert.objects.create(
            subject=f"p{n}",
            user=f"p{n}",
            theme=theme,
            level="high",
            first=first + timedelta(days=n),
            last=first,
        )
        AlertWork.objects.create(
            alert=alert,
            verdict="true-positive",
            reason="r",
            decided_at=alert.first + timedelta(minutes=minutes),
        )
    amy = make_user("pupil", "amy.ash", first_name="Amy", last_name="Ashworth")
    teacher = make_user("teacher", "tom.teach", first_name="Tom", last_name="Teacher")
    for day in range(1, 8):
        case = workflow.open_case(teacher, Source.STAFF, {"summary": "s", "details": "d"}, [amy])
        Case.objects.filter(pk=case.pk).update(
            reported_at=datetime(2025, 11, day, 11, tzinfo=LONDON),
            incident_type="pupil:bypassing-the-filter" if day % 2 else "pupil:deliberate-access",
        )


def test_the_governor_signs_off_the_termly_report_and_the_dsl_cannot_cav_075(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "cavendish.yaml"
    settings.SCHOOLGATE_EVENTS = _a_term_of_records(tmp_path)
    console_events.reset()
    _alerts_and_incidents()
    make_user("governor", "gill.governor", first_name="Gill", last_name="Governor")
    make_user("dsl", "dana.lead", first_name="Dana", last_name="Lead")
    base = live_server.url

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, base, "gill.governor")
    page.wait_for_selector("#totals")  # a governor's home page is the report: this term's
    assert "The last complete term is" in page.inner_text("#running")
    page.goto(f"{base}/governors/?term=2025-autumn")
    main = page.inner_text("main")
    assert "Online safety report for governors — Autumn term 2025" in main
    for name in ("Amy", "Ashworth", "amy.ash", "Tom", "Dana"):
        assert name not in main
    assert page.locator("#filtering svg.ranked").count() == 2
    assert page.locator("#alerts svg.ranked").count() == 2
    assert "Pornography" in page.inner_text("#filtering")
    assert page.inner_text("#total-blocked") == "306"
    shot(page, "governors-termly-report")

    # A4: the browser's own print, as a governor would.
    pdf = page.pdf(format="A4", print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 4, pages
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    assert page.evaluate("document.documentElement.scrollWidth") <= 794
    shot(page, "governors-termly-report-print")
    page.emulate_media(media="screen")
    page.set_viewport_size({"width": 390, "height": 800})
    fits(page)
    shot(page, "governors-termly-report-390")
    page.set_viewport_size({"width": 1200, "height": 900})

    page.fill("#position", "Chair of Governors")
    page.check("#read")
    page.click("#sign-off-form button[type=submit]")
    page.wait_for_selector(".sign-off-record")
    record = page.inner_text("#sign-off")
    assert "Signed off by Gill Governor, Chair of Governors" in record
    assert "The figures are the same as when signed" in record
    assert page.locator("#sign-off-form").count() == 0
    shot(page, "governors-sign-off")
    signed = TermReportSignOff.objects.get()
    assert signed.signed_by.username == "gill.governor" and signed.term == "2025-autumn"
    page.close()

    dsl = browser.new_context(viewport={"width": 1200, "height": 900})
    page = dsl.new_page()
    sign_in(page, base, "dana.lead", totp=True)
    page.goto(f"{base}/governors/?term=2025-autumn")
    assert "Signed off by Gill Governor" in page.inner_text("#sign-off")
    assert page.locator("#sign-off-form").count() == 0
    assert "A governor signs off this report" in page.inner_text("#sign-off")
    token = next(c["value"] for c in dsl.cookies() if c["name"] == "csrftoken")
    forged = dsl.request.post(
        f"{base}/governors/sign-off/",
        form={"csrfmiddlewaretoken": token, "term": "2025-autumn", "read": "yes"},
        headers={"Referer": f"{base}/governors/"},
    )
    assert forged.status == 403 and b"CSRF" not in forged.body()
    assert TermReportSignOff.objects.count() == 1

    # The UKSIC self-check, from the reviews page.
    page.click("header nav >> text=Reviews")
    page.click("text=UKSIC self-check")
    iwf = page.locator(".check-item", has_text="IWF URL list")
    assert "Gap" in iwf.inner_text() and "only to IWF members" in iwf.inner_text()
    shot(page, "uksic-self-check")
    page.set_viewport_size({"width": 390, "height": 800})
    fits(page)
    shot(page, "uksic-self-check-390")
    dsl.close()
