"""Real-browser walk through the staff application (Debian's chromium driven by Playwright).

A teacher reports a concern; the DSL signs in with TOTP, triages it, records the two-person
review, applies the policy's suggested sanctions and closes it; a governor opens the termly
report and sees no names. `SCHOOLGATE_SCREENSHOTS=1` refreshes the screenshots in docs/screens/.
"""

from __future__ import annotations

import pyotp

from schoolgate.app.cases.models import Case, Status
from schoolgate.app.cases.terms import Term, term_of

from .browser_pages import BROWSER_TESTS, shot, sign_in
from .conftest import TOTP_SECRET, make_user

# Screenshots are always taken; they replace the ones in docs/screens/ only when asked to
# (SCHOOLGATE_SCREENSHOTS=1), so a test run leaves the working tree clean.

pytestmark = BROWSER_TESTS


def test_report_triage_review_sanction_close_and_governor_report(
    live_server,
    browser,
    transactional_db,
) -> None:
    base = live_server.url
    teacher = make_user("teacher", "tom-teacher", first_name="Tom", last_name="Teacher")
    make_user("dsl", "dana-lead", first_name="Dana", last_name="Lead")
    make_user("deputy-dsl", "dev-deputy", first_name="Dev", last_name="Deputy")
    make_user("governor", "gail-governor", first_name="Gail", last_name="Governor")
    pupil = make_user("pupil", "amy-ash", first_name="Amy", last_name="Ashworth")

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, base, "tom-teacher")
    page.goto(f"{base}/report/")
    page.fill("#id_summary", "Pupil using a VPN app in IT2")
    page.fill("#id_occurred_at", "2025-10-06T11:00")
    page.fill("#id_involved", "Ash")  # the people picker: search, then choose
    page.click("#id_involved-results button >> text=Amy Ashworth")
    page.wait_for_selector(".chosen >> text=Amy Ashworth")
    page.fill("#id_room", "IT2")
    page.fill("#id_device", "PC-14")
    page.fill("#id_url", "https://vpn.example")
    page.fill("#id_details", "Amy had a VPN app open to reach a games site during period 3.")
    shot(page, "report-staff")
    page.click("#report-form button[type=submit]")
    page.wait_for_selector("text=Your report is C-")
    case = Case.objects.get()
    assert case.reporter == teacher and list(case.involved.all()) == [pupil]
    page.close()

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, base, "dana-lead")
    page.wait_for_selector("#id_code")
    page.fill("#id_code", pyotp.TOTP(TOTP_SECRET).now())
    page.click("main button[type=submit]")
    page.wait_for_selector("#work-tasks")  # the DSL's home: My work
    page.click('header >> text="Cases"')
    page.wait_for_selector("text=Pupil using a VPN app in IT2")
    shot(page, "case-list")
    page.click(f"text={case.reference}")
    page.select_option(
        "#triage-form select[name=incident_type]", value="pupil:subverting-filtering"
    )
    page.select_option("#triage-form select[name=status]", value="investigating")
    page.click("#triage-form button[type=submit]")
    page.wait_for_selector("#step-review[open]")
    checked = page.eval_on_selector_all(
        "#actions-form input[type=checkbox]:checked", "boxes => boxes.map(b => b.value)"
    )
    assert checked == [
        "refer-class-teacher",
        "refer-principal",
        "inform-parents",
        "remove-network-access",
    ]  # the policy's suggestion, pre-selected

    # Only the next step is open: the two-person review, with Dana as first reviewer.
    assert page.is_visible("#review-form") and not page.is_visible("#close-form")
    review = "#review-form "
    page.fill(review + "[name=reason_for_investigation]", "Filtering bypass reported by teacher")
    page.fill(review + "[name=first_position]", "DSL")
    page.fill("#id_second_reviewer", "Dep")
    page.click("#id_second_reviewer-results button >> text=Dev Deputy")
    page.fill(review + "[name=second_position]", "Deputy DSL")
    page.fill(review + "[name=computer]", "DSL office PC (not used by pupils)")
    page.fill(review + "[name=sites]", "vpn.example; PC-14 browser history")
    page.fill(review + "[name=reason_for_concern]", "VPN used to bypass the filter")
    page.fill(review + "[name=conclusion]", "Concern has substance; apply sanctions")
    page.click(review + "button[type=submit]")
    page.wait_for_selector("#reviews >> text=waiting for them to confirm")

    page.fill("#actions-form [name=reason]", "As the policy suggests; first offence")
    page.click("#actions-form button[type=submit]")
    page.wait_for_selector("#actions-taken >> text=Removal of network / internet access rights")
    assert "has not yet confirmed" in page.inner_text("#step-close summary")

    # The second reviewer confirms in a browser context of their own (issue 13).
    deputy_context = browser.new_context(viewport={"width": 1200, "height": 900})
    deputy = deputy_context.new_page()
    sign_in(deputy, base, "dev-deputy")
    deputy.fill("#id_code", pyotp.TOTP(TOTP_SECRET).now())
    deputy.click("main button[type=submit]")
    deputy.click("#notifications-link")
    deputy.click("#notifications button")
    deputy.wait_for_selector("#confirm-form")
    shot(deputy, "review-confirm")
    deputy.click("#confirm-form button")
    deputy.wait_for_selector("#confirmed")
    deputy_context.close()

    page.reload()
    assert "confirmed" in page.inner_text("#reviews .review-second")
    assert "Dev Deputy confirmed the two-person review" in page.inner_text("#timeline")
    assert "case.triage" not in page.inner_text("main")
    shot(page, "case-detail")
    assert page.is_visible("#close-form")
    page.fill("#close-form [name=outcome]", "Sanctions applied; parents informed by letter")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#case-status >> text=Closed")
    case.refresh_from_db()
    assert case.status == Status.CLOSED and case.reviews.get().second_confirmed_at
    assert case.actions.count() == 4
    page.goto(f"{base}/logs/incident/?term=2025-autumn")
    shot(page, "incident-log")
    page.close()

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    sign_in(page, base, "gail-governor")
    page.goto(f"{base}/governors/?term={_term(case).key}")
    page.wait_for_selector("#totals")
    text = page.inner_text("main")
    # One incident: too few to show exactly (small-count suppression).
    assert "fewer than 5 incidents reported" in text.replace("\n", " ")
    for name in ("Amy", "Ashworth", "Tom", "Teacher", "Dana", "Lead", "amy-ash"):
        assert name not in text
    shot(page, "governor-report")
    page.close()

    page = browser.new_page(viewport={"width": 900, "height": 700})
    sign_in(page, base, "amy-ash")
    page.wait_for_selector("text=Tell us about something online that upset you")
    shot(page, "report-pupil")
    page.close()


def _term(case: Case) -> Term:
    from django.utils import timezone

    return term_of(timezone.localtime(case.reported_at).date())
