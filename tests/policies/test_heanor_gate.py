"""Scenarios for Heanor Gate Science College (seed 004), checked against policies/heanor-gate.yaml.

Each test names the requirement ids (shared/requirements.md §2.5, scenarios §4.5) it checks.
Hosts are real entries of the UT1 lists in ../shared/data/ut1, in the category named.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from schoolgate.engine.decide import Subject
from schoolgate.engine.policy.schema import Action, AlertLevel
from tests.policies.seed_checks import (
    assert_dsl_hears_high_and_critical,
    assert_rules_cite_known_requirements,
    google_search,
    quotes_missing_from_seed,
    run_check_batch,
)

SCHOOL = "heanor-gate"
SEED = "004_4f67d6123a4ffcc8.txt"
PREFIX = "HG"

TUESDAY_LESSON = datetime(2025, 3, 4, 10, 30)
TUESDAY_LUNCH = datetime(2025, 3, 4, 12, 30)
SATURDAY = datetime(2025, 3, 8, 11, 0)

PUPIL = Subject(group="pupil")
STAFF = Subject(group="staff")
ADULT_GROUPS = ["staff", "governor", "volunteer", "visitor"]


# --- Appendix 1: pupils (scenario HG-S01) ---


@pytest.mark.parametrize(
    ("host", "category"),
    [("roblox.com", "games"), ("omegle.com", "chat"), ("instagram.com", "social-media")],
)
@pytest.mark.parametrize("moment", [TUESDAY_LESSON, TUESDAY_LUNCH, SATURDAY])
def test_pupils_do_not_reach_social_networking_chat_or_gaming_hg_079_hg_s01(
    decider, host, category, moment
):
    decision = decider.decide(PUPIL, host, moment)
    assert decision.action is Action.BLOCK
    assert decision.rule == "pupil-social-chat-gaming"
    assert category in decision.categories
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == ("it-lead",)
    assert "social networking sites, chat rooms and gaming sites" in decision.reason


@pytest.mark.parametrize(
    ("host", "category"),
    [("101date.com", "dating"), ("000-online-casino.com", "gambling"), ("1337x.org", "piracy")],
)
def test_other_inappropriate_websites_are_blocked_for_pupils_hg_079_hg_073(decider, host, category):
    decision = decider.decide(PUPIL, host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "pupil-inappropriate-websites")
    assert decision.categories == (category,)


def test_educational_games_stay_open_to_pupils_hg_073(decider):
    decision = decider.decide(PUPIL, "englishexercises.org", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "default")


def test_pupil_reads_the_rup_before_first_use_hg_072(decider):
    decision = decider.decide(Subject(group="pupil", agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "agreement-required")
    assert "will read and follow the rules" in decision.reason


def test_rups_are_acknowledged_not_signed_by_parents_hg_072_hg_024(policy):
    pupil = next(a for a in policy.agreements if a.id == "pupil-rup")
    adult = next(a for a in policy.agreements if a.id == "adult-rup")
    assert pupil.required_signatories == ["user"]
    assert "parent" in pupil.signatories
    assert adult.groups == ADULT_GROUPS
    assert all(policy.group(g).agreement == "adult-rup" for g in ADULT_GROUPS)


def test_unidentified_user_is_treated_as_a_pupil_hg_079(decider):
    decision = decider.decide(Subject(), "omegle.com", TUESDAY_LESSON)
    assert (decision.group, decision.action) == ("pupil", Action.BLOCK)


@pytest.mark.parametrize("group", ["pupil", *ADULT_GROUPS])
def test_google_classroom_is_open_to_every_group_hg_040_hg_041(decider, group):
    decision = decider.decide(Subject(group=group), "classroom.google.com", SATURDAY)
    assert (decision.action, decision.rule) == (Action.ALLOW, "learning-platform")


@pytest.mark.parametrize(
    "host",
    [
        "www.ceop.police.uk",
        "childline.org.uk",
        "www.cybermentors.org.uk",
        "digizen.org.uk",
        "kidsmart.org.uk",
        "www.virtualglobaltaskforce.com",
        "clickcleverclicksafe.direct.gov.uk",
    ],
)
def test_online_safety_contacts_are_always_reachable_hg_038(decider, host):
    decision = decider.decide(Subject(group="pupil", agreement=False), host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "support-services")


# --- Appendix 2: staff, governors, volunteers and visitors ---


@pytest.mark.parametrize("group", ADULT_GROUPS)
def test_adults_do_not_access_violent_criminal_or_pornographic_material_hg_088(decider, group):
    decision = decider.decide(Subject(group=group), "14words.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "adults-inappropriate-material"
    assert decision.alert is AlertLevel.MEDIUM
    assert decision.notify == ("it-lead", "aap-standards-expectations")
    assert "violent, criminal or pornographic" in decision.reason


@pytest.mark.parametrize("group", ADULT_GROUPS)
def test_gambling_is_not_a_duty_of_any_role_hg_096(decider, group):
    decision = decider.decide(Subject(group=group), "000-online-casino.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "adults-role-duties-only")


def test_staff_games_and_shopping_are_warned_hg_096_hg_097(decider):
    for host in ("roblox.com", "amazon.co.uk"):
        decision = decider.decide(STAFF, host, TUESDAY_LESSON)
        assert (decision.action, decision.rule) == (Action.WARN, "adults-non-work-use")


def test_staff_social_media_is_regulated_not_blocked_hg_047_hg_048(decider):
    decision = decider.decide(STAFF, "instagram.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "default")


def test_software_downloads_warned_for_staff_blocked_for_pupils_hg_090_hg_s15(decider):
    staff = decider.decide(STAFF, "filehippo.com", TUESDAY_LESSON)
    pupil = decider.decide(PUPIL, "filehippo.com", TUESDAY_LESSON)
    assert (staff.action, staff.rule) == (Action.WARN, "adults-unauthorised-software")
    assert "Not install any unauthorised software" in staff.reason
    assert (pupil.action, pupil.rule) == (Action.BLOCK, "pupil-downloads")


@pytest.mark.parametrize("group", ["pupil", "staff"])
@pytest.mark.parametrize("host", ["kproxy.com", "1clickvpn.com", "anydesk.com"])
def test_infrastructure_is_not_open_to_misuse_hg_018_hg_090(decider, group, host):
    decision = decider.decide(Subject(group=group), host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "circumvention")
    assert decision.alert is AlertLevel.MEDIUM


def test_video_conferencing_needs_the_it_lead_s_permission_hg_042_hg_s05(decider):
    decision = decider.decide(STAFF, "https://zoom.us/j/123456", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.WARN, "video-conferencing")
    assert "permission must be granted by the IT Lead" in decision.reason


# --- searches and escalation (HG-003, HG-099) ---


def test_search_for_illegal_material_reaches_it_lead_dsl_and_principal_hg_003_hg_066(decider):
    decision = decider.decide(STAFF, google_search("jailbait pics"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "search-illegal")
    assert decision.alert is AlertLevel.CRITICAL
    assert decision.notify == ("it-lead", "dsl", "executive-principal")


def test_radicalisation_search_is_warned_and_reaches_the_dsl_hg_008(decider):
    decision = decider.decide(PUPIL, google_search("join isis"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.WARN, "pupil-search-radicalisation")
    assert decision.notify[:2] == ("it-lead", "dsl")


def test_pupil_disclosing_risk_is_not_blocked_and_dsl_and_it_lead_are_told_hg_099_hg_s03(
    decider,
):
    decision = decider.decide(PUPIL, google_search("i want to kill myself"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "pupil-search-self-harm")
    assert {"dsl", "it-lead"} <= set(decision.notify)


def test_pornography_search_is_blocked_for_pupils_hg_028(decider):
    decision = decider.decide(PUPIL, google_search("free porn videos"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "pupil-search-sexual")


# --- sanctions ---


def test_device_search_decisions_are_delete_retain_or_police_hg_069(policy):
    matrix = next(m for m in policy.sanctions if m.applies_to == "pupil")
    found = next(i for i in matrix.incidents if i.id == "inappropriate-material-on-device")
    assert set(found.actions) == {"dsl-decision", "delete-material", "retain-evidence", "police"}


def test_cyber_bullying_is_contained_and_the_dsl_considers_police_hg_045_hg_046(policy):
    matrix = next(m for m in policy.sanctions if m.applies_to == "pupil")
    bullying = next(i for i in matrix.incidents if i.id == "cyber-bullying")
    assert {"contain-incident", "dsl-decision", "police", "behaviour-policy"} <= set(
        bullying.actions
    )


def test_staff_misuse_goes_to_the_trust_code_of_conduct_hg_065_hg_059(policy):
    matrix = next(m for m in policy.sanctions if m.applies_to == "staff")
    assert all("code-of-conduct" in i.actions for i in matrix.incidents)
    assert any(i.illegal and "police" in i.actions for i in matrix.incidents)


# --- the policy file is faithful to the seed ---


def test_every_quote_is_verbatim_from_the_seed(policy):
    assert quotes_missing_from_seed(policy, SEED) == []


def test_every_rule_cites_requirements_that_exist(policy):
    assert_rules_cite_known_requirements(policy, PREFIX)


def test_critical_and_high_alerts_reach_the_dsl_hg_099(policy):
    assert_dsl_hears_high_and_critical(policy)
    assert all(route.notify[0] == "it-lead" for route in policy.alert_routes)  # HG-003


# --- the `schoolgate check --batch` contract ---


def test_batch_check_answers_one_json_line_per_request_hg_079_hg_042(policy_path, ut1_dir):
    requests = [
        {"group": "pupil", "at": "2025-03-04T12:30", "target": "roblox.com"},
        {"group": "staff", "at": "2025-03-04T10:30", "target": "zoom.us"},
        {"group": "volunteer", "target": ""},
    ]
    answers = run_check_batch(policy_path(SCHOOL), ut1_dir, requests)
    assert [(a.get("action"), a.get("rule")) for a in answers[:2]] == [
        ("block", "pupil-social-chat-gaming"),
        ("warn", "video-conferencing"),
    ]
    assert answers[0]["notify"] == ["it-lead"]
    assert "target" in answers[2]["error"] and answers[2]["line"] == 3
