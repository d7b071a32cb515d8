"""Real browsers, real proxy: a pupil signs and stays gated until a parent countersigns.

St Thomas More (STM-228, STM-230, STM-S02): Amelia (KS2) signs her agreement in the staff app
and her next request through the real proxy is still sent to the agreement page; her parent
signs in, in another browser context, and countersigns; the app publishes the agreement state,
the proxy reloads it, and Amelia's next request reaches the site. St Hilary's (SH-064, SH-S06):
"Amelia Smith" is refused in a website caption and "Amelia S." accepted for a child with
website consent. `SCHOOLGATE_SCREENSHOTS=1` refreshes docs/screens/.
"""

from __future__ import annotations

import time
from pathlib import Path

from schoolgate.app.agreements import consents
from schoolgate.app.policy import current_policy
from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot
from schoolgate.gateway.agreement_state import AgreementState
from tests.gateway.proxy_support import running_origin, running_proxy

from .browser_pages import BROWSER_TESTS, shot, sign_in
from .conftest import make_user

POLICIES = Path(__file__).resolve().parents[2] / "policies"

pytestmark = BROWSER_TESTS


def test_pupil_stays_gated_until_the_parent_countersigns_stm_228_stm_230(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    state_path = tmp_path / "gateway" / "agreement-state.json"
    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    settings.SCHOOLGATE_AGREEMENT_STATE = state_path
    amelia = make_user(
        "pupil",
        "amelia.smith",
        first_name="Amelia",
        last_name="Smith",
        policy_group="pupil-ks2",
        year="4",
        registration_group="4B",
    )
    parent = make_user("parent", "pat.smith", first_name="Pat", last_name="Smith")
    parent.children.add(amelia)
    make_user("teacher", "tess-teacher", first_name="Tess", last_name="Teacher")
    decider = Decider(compile_snapshot(load_policy(settings.SCHOOLGATE_POLICY), []))
    state = AgreementState.load(state_path)
    base = live_server.url
    with (
        running_origin() as origin,
        running_proxy(
            tmp_path,
            lambda: decider,
            hosts={"*.test": f"127.0.0.1:{origin.port}"},
            identify=lambda address: Subject(group="pupil-ks2", user="amelia.smith"),
            agreement_state=state,
        ) as proxy,
    ):
        # Amelia browses through the proxy, and signs in to the staff app (on loopback) direct.
        pupil = browser.new_context(
            proxy={"server": f"http://127.0.0.1:{proxy.port}"},
            viewport={"width": 390, "height": 844},
        ).new_page()
        pupil.goto("http://homework.test/spelling")
        assert pupil.url.startswith("http://gate.test/agreement")
        assert pupil.is_visible("#parent-note")
        shot(pupil, "agreement-gateway-page")
        pupil_app = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        sign_in(pupil_app, base, "amelia.smith")
        pupil_app.goto(f"{base}/agreement/")
        pupil_app.check("input[name=agree]")
        pupil_app.click("#sign")
        assert "Your parent or carer must sign too" in pupil_app.inner_text("main")
        shot(pupil_app, "agreement-pupil-waiting")
        pupil.goto("http://homework.test/spelling")
        assert pupil.url.startswith("http://gate.test/agreement"), "still gated"

        carer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        sign_in(carer, base, "pat.smith")
        carer.wait_for_url(f"{base}/parent/")
        assert "Amelia cannot use the internet at school until you sign" in carer.inner_text("main")
        shot(carer, "agreement-parent-page")
        carer.check(".child input[name=agree]")
        carer.click(".sign-parent")
        assert "Complete: Amelia may use the school's internet" in carer.inner_text("main")

        deadline = time.monotonic() + 10
        while True:  # the proxy re-reads the published file within a second
            pupil.goto("http://homework.test/spelling")
            if pupil.url == "http://homework.test/spelling" or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert pupil.url == "http://homework.test/spelling"
        assert "origin page for homework.test/spelling" in pupil.inner_text("body")

        office = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
        sign_in(office, base, "tess-teacher")
        office.goto(f"{base}/agreements/")
        assert "Amelia Smith" in office.inner_text("table.register")
        shot(office, "agreement-register")


def test_st_hilarys_publish_check_sh_064_sh_s06(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    settings.SCHOOLGATE_POLICY = POLICIES / "st-hilarys.yaml"
    settings.SCHOOLGATE_AGREEMENT_STATE = tmp_path / "agreement-state.json"
    amelia = make_user(
        "pupil",
        "amelia.s",
        first_name="Amelia",
        last_name="Smith",
        policy_group="pupil",
        registration_group="3S",
    )
    parent = make_user("parent", "p.smith", first_name="Pat", last_name="Smith")
    parent.children.add(amelia)
    from django.utils import timezone

    consents.answer(
        amelia,
        "photo-video",
        "yes",
        by=parent,
        giver_role="parent",
        policy=current_policy(),
        at=timezone.now(),
    )
    make_user("teacher", "sam-social", first_name="Sam", last_name="Social")
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, live_server.url, "sam-social")
    page.goto(f"{live_server.url}/publish-check/")
    page.select_option("#channel", "website")
    page.fill("#caption", "Amelia Smith wins the spelling bee")
    page.click("#check")
    assert page.inner_text("#verdict").startswith("Not yet")
    assert "Amelia S." in page.inner_text("#caption-problems")
    shot(page, "publish-check-refused")
    page.fill("#caption", "Amelia S. wins the spelling bee")
    page.click("#check")
    assert page.inner_text("#verdict").startswith("Yes")
    assert "Amelia S." in page.inner_text("#children")
    shot(page, "publish-check-accepted")


def test_training_log_and_a_pupils_consents_at_phone_width_stm_286(
    live_server, browser, transactional_db, settings, tmp_path
) -> None:
    """The OSC records training and a Training Needs Audit Log entry, then a paper consent."""
    import pyotp

    from .conftest import TOTP_SECRET

    settings.SCHOOLGATE_POLICY = POLICIES / "st-thomas-more.yaml"
    settings.SCHOOLGATE_AGREEMENT_STATE = tmp_path / "agreement-state.json"
    make_user("online-safety-coordinator", "olly-osc", first_name="Olly", last_name="Coordinator")
    make_user("teacher", "nina-new", first_name="Nina", last_name="Newstaff", policy_group="staff")
    pupil = make_user(
        "pupil",
        "ben.jones",
        first_name="Ben",
        last_name="Jones",
        policy_group="pupil-ks2",
        registration_group="5C",
    )
    parent = make_user("parent", "jo.jones", first_name="Jo", last_name="Jones")
    parent.children.add(pupil)
    page = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(page, live_server.url, "olly-osc")
    page.wait_for_selector("#id_code")
    page.fill("#id_code", pyotp.TOTP(TOTP_SECRET).now())
    page.click("main button[type=submit]")
    page.goto(f"{live_server.url}/training/")
    assert "Nina Newstaff" in page.inner_text("#gaps")  # induction due within 28 days
    page.click("text=Add an entry")
    page.fill("input[name=group]", "Teaching staff")
    page.fill("textarea[name=identified_need]", "Filtering and monitoring roles")
    page.fill("input[name=cost]", "45")
    page.fill("input[name=review_date]", "2027-03-01")
    page.click("form:has(input[value=need]) button[type=submit]")
    assert "Filtering and monitoring roles" in page.inner_text("#tna")
    shot(page, "training-log")
    page.goto(f"{live_server.url}/consents/{pupil.pk}/")
    page.check("input[name=consent-google-apps][value=yes]")
    page.click("main form button[type=submit]")
    assert "Jo Jones" in page.inner_text("main")
    shot(page, "consents-pupil")
