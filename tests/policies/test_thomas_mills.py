"""Scenarios for Thomas Mills High School (seed 000), checked against policies/thomas-mills.yaml.

Each test names the requirement ids (shared/requirements.md §2.1, scenarios §4.1) it checks.
Hosts are real entries of the UT1 lists in ../shared/data/ut1, in the category named.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest

from schoolgate.engine.decide import Subject
from schoolgate.engine.policy.schema import Action, AlertLevel
from tests.policies.seed_checks import (
    assert_dsl_hears_high_and_critical,
    assert_rules_cite_known_requirements,
    benign_questions,
    google_search,
    quotes_missing_from_seed,
    run_check_batch,
)

SCHOOL = "thomas-mills"
SEED = "000_2f0a0b17067649b8.txt"
PREFIX = "TM"

TUESDAY_LESSON = datetime(2025, 3, 4, 10, 30)
TUESDAY_LUNCH = datetime(2025, 3, 4, 12, 30)
TUESDAY_EVENING = datetime(2025, 3, 4, 17, 30)
SATURDAY = datetime(2025, 3, 8, 11, 0)

PUPIL = Subject(group="pupil")
STAFF = Subject(group="staff")
ICT_DEPARTMENT = ("network-manager", "ict-technician")


# --- TM-004, TM-054: the Approved Use Policy gates all access ---


def test_pupil_who_has_not_accepted_the_aup_gets_nothing_tm_004_tm_054(decider):
    decision = decider.decide(Subject(group="pupil", agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "agreement-required"
    assert "Approved Use Policy which pupils" in decision.reason


def test_pupil_who_accepted_the_aup_reaches_ordinary_sites_tm_004_tm_005(decider):
    decision = decider.decide(PUPIL, "https://www.bbc.co.uk/bitesize", TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "default"
    assert decision.categories == ()
    assert decision.alert is AlertLevel.NONE
    assert decision.notify == ()


def test_staff_have_no_agreement_to_sign_tm_032(decider):
    # The seed has no staff AUP (§5 ambiguity 21): staff are not gated.
    decision = decider.decide(Subject(group="staff", agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "default"


def test_aup_is_accepted_at_every_logon_by_the_pupil_alone_tm_054(policy):
    agreement = next(a for a in policy.agreements if a.id == "approved-use-policy")
    assert agreement.renew == "each-logon"
    assert agreement.required_signatories == ["user"]
    assert policy.group("pupil").agreement == "approved-use-policy"
    assert "Under no circumstances should any chat room site be visited" in agreement.statements


def test_unidentified_user_is_treated_as_a_pupil_tm_004(decider):
    decision = decider.decide(Subject(), "roblox.com", TUESDAY_LESSON)
    assert decision.group == "pupil"
    assert decision.action is Action.BLOCK


# --- TM-057: internet gaming during school hours ---


def test_gaming_is_blocked_in_a_lesson_tm_057_tm_s02(decider):
    decision = decider.decide(PUPIL, "www.roblox.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "no-gaming-in-school-hours"
    assert decision.categories == ("games",)
    assert "INTERNET GAMING IS NOT ALLOWED DURING SCHOOL HOURS" in decision.reason


@pytest.mark.parametrize("moment", [TUESDAY_EVENING, SATURDAY, datetime(2025, 3, 4, 8, 29)])
def test_gaming_outside_school_hours_is_warned_not_blocked_tm_057_tm_005_tm_s03(decider, moment):
    decision = decider.decide(PUPIL, "minecraft.net", moment)
    assert decision.action is Action.WARN
    assert decision.rule == "gaming-outside-school-hours"
    assert "all usage should be of an educational nature" in decision.reason


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2025, 3, 4, 8, 30), Action.BLOCK),
        (datetime(2025, 3, 4, 15, 29), Action.BLOCK),
        (datetime(2025, 3, 4, 15, 30), Action.WARN),
    ],
)
def test_school_hours_boundaries_tm_057(decider, moment, expected):
    assert decider.decide(PUPIL, "coolmathgames.com", moment).action is expected


def test_staff_gaming_is_not_restricted_by_the_pupil_aup_tm_057(decider):
    decision = decider.decide(STAFF, "roblox.com", TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "default"


def test_educational_games_are_not_internet_gaming_tm_005(decider):
    decision = decider.decide(PUPIL, "englishexercises.org", TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.categories == ("educational-games",)


# --- TM-055: chat rooms under no circumstances ---


@pytest.mark.parametrize("moment", [TUESDAY_LESSON, TUESDAY_LUNCH, TUESDAY_EVENING, SATURDAY])
def test_chat_rooms_are_blocked_under_all_circumstances_tm_055_tm_s04(decider, moment):
    decision = decider.decide(Subject(group="pupil", nominated=True), "omegle.com", moment)
    assert decision.action is Action.BLOCK
    assert decision.rule == "no-chat-rooms"
    assert decision.categories == ("chat",)
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == ICT_DEPARTMENT
    assert "Under no circumstances should any chat room site be visited" in decision.reason


# --- TM-008: social media ---


@pytest.mark.parametrize("host", ["instagram.com", "www.tiktok.com"])
def test_social_media_is_blocked_for_pupils_at_lunchtime_tm_008_tm_s05(decider, host):
    decision = decider.decide(PUPIL, host, TUESDAY_LUNCH)
    assert decision.action is Action.BLOCK
    assert decision.rule == "no-social-media"
    assert decision.categories == ("social-media",)
    assert "Social media sites should not be visited" in decision.reason


def test_staff_social_media_is_not_filtered_tm_024(decider):
    # TM-024 forbids private friendships with pupils; the filter cannot see those, so staff
    # browsing of social media is not blocked (the seed never asks for it).
    decision = decider.decide(STAFF, "instagram.com", TUESDAY_LUNCH)
    assert decision.action is Action.ALLOW


# --- TM-006, TM-007: illegal, offensive or inappropriate material ---


@pytest.mark.parametrize("group", ["pupil", "staff"])
@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("000-online-casino.com", "gambling"),
        ("420.org", "drugs"),
        ("allpasswords.com", "malware-hacking"),
        ("1topspy.com", "stalkerware"),
    ],
)
def test_inappropriate_material_is_blocked_for_every_user_tm_006(decider, group, host, category):
    decision = decider.decide(Subject(group=group), host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "inappropriate-content"
    assert decision.categories == (category,)
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == ICT_DEPARTMENT
    assert "illegal, offensive or inappropriate nature" in decision.reason


@pytest.mark.parametrize(
    ("host", "category"), [("14words.com", "hate-speech"), ("bbguns.co.uk", "dangerous-material")]
)
def test_offensive_material_is_reported_to_the_ict_department_tm_006_tm_007(
    decider, host, category
):
    decision = decider.decide(PUPIL, host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "inappropriate-content"
    assert category in decision.categories
    assert decision.alert is AlertLevel.MEDIUM
    assert decision.notify == (*ICT_DEPARTMENT, "head-of-ict")


# --- circumvention (TM-006 read for routes round the filter) ---


@pytest.mark.parametrize("group", ["pupil", "staff"])
def test_web_proxies_are_blocked_for_everyone_tm_006(decider, group):
    decision = decider.decide(Subject(group=group), "kproxy.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "anonymisers"
    assert decision.categories == ("proxy",)
    assert decision.alert is AlertLevel.MEDIUM


def test_vpn_blocked_for_pupils_allowed_but_flagged_for_staff_tm_006(decider):
    pupil = decider.decide(PUPIL, "1clickvpn.com", TUESDAY_LESSON)
    staff = decider.decide(STAFF, "1clickvpn.com", TUESDAY_LESSON)
    assert (pupil.action, pupil.rule) == (Action.BLOCK, "pupil-vpn-remote-access")
    assert (staff.action, staff.rule) == (Action.ALLOW, "default")
    assert pupil.alert is staff.alert is AlertLevel.MEDIUM


# --- TM-006: searches for illegal, offensive or inappropriate material (scenario TM-S07) ---


def test_search_for_illegal_material_is_blocked_and_reaches_the_dsl_tm_006_tm_s07(decider):
    decision = decider.decide(PUPIL, google_search("jailbait pics"), TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "search-illegal"
    assert decision.search == "jailbait pics"
    assert decision.alert is AlertLevel.CRITICAL
    assert decision.notify == ("dsl", "headteacher", "network-manager")
    assert "must not search for" in decision.reason


def test_pornography_search_is_blocked_for_pupils_tm_006_tm_s07(decider):
    decision = decider.decide(
        PUPIL, "https://www.bing.com/search?q=free+porn+videos", TUESDAY_LUNCH
    )
    assert decision.action is Action.BLOCK
    assert decision.rule == "search-sexual"
    assert decision.alert is AlertLevel.MEDIUM


def test_extremist_recruitment_search_is_warned_and_reaches_the_dsl_tm_006(decider):
    decision = decider.decide(PUPIL, google_search("join isis"), TUESDAY_LESSON)
    assert decision.action is Action.WARN
    assert decision.rule == "search-extremism"
    assert decision.alert is AlertLevel.CRITICAL
    assert "dsl" in decision.notify


def test_history_homework_about_extremism_is_not_escalated_tm_001_tm_006(decider):
    # TM-001: ICT is an entitlement for learning; an educational frame lowers the library hit.
    decision = decider.decide(PUPIL, google_search("history of isis gcse"), TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.alert is AlertLevel.LOW
    assert "dsl" not in decision.notify


def test_help_seeking_search_is_never_blocked_tm_007(decider):
    decision = decider.decide(PUPIL, google_search("self harm support childline"), TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.alert is AlertLevel.NONE


def test_real_benign_questions_are_not_blocked_tm_005(decider):
    questions = benign_questions()
    actions = Counter(
        decider.decide(PUPIL, google_search(q), TUESDAY_LESSON).action for q in questions
    )
    assert len(questions) > 3000
    assert actions[Action.BLOCK] == 0
    assert actions[Action.WARN] <= len(questions) // 200


# --- help is never blocked; the school's own site is always reachable ---


@pytest.mark.parametrize(
    "host",
    [
        "www.childline.org.uk",
        "samaritans.org",
        "www.ceop.police.uk",
        "thinkuknow.co.uk",
        "report.iwf.org.uk",
        "saferinternet.org.uk",
        "nspcc.org.uk",
    ],
)
def test_help_services_are_reachable_even_before_the_aup_is_accepted_tm_007(decider, host):
    decision = decider.decide(Subject(group="pupil", agreement=False), host, TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "support-services"


@pytest.mark.parametrize("group", ["pupil", "staff"])
def test_school_site_is_reachable_for_every_group_tm_043(decider, group):
    decision = decider.decide(Subject(group=group), "www.thomasmills.suffolk.sch.uk", SATURDAY)
    assert decision.action is Action.ALLOW
    assert decision.rule == "learning-platform"


# --- the policy file is faithful to the seed ---


def test_every_quote_is_verbatim_from_the_seed(policy):
    assert quotes_missing_from_seed(policy, SEED) == []


def test_every_rule_cites_requirements_that_exist(policy):
    assert_rules_cite_known_requirements(policy, PREFIX)


def test_critical_and_high_alerts_reach_the_dsl(policy):
    assert_dsl_hears_high_and_critical(policy)


# --- the `schoolgate check --batch` contract ---


def test_batch_check_answers_one_json_line_per_request_tm_057_tm_055(policy_path, ut1_dir):
    requests = [
        {"group": "pupil", "at": "2025-03-04T10:30", "target": "roblox.com"},
        {"group": "pupil", "at": "2025-03-08T11:00", "target": "omegle.com"},
        {"group": "pupil", "at": "2025-03-04T10:30", "target": "bbc.co.uk", "agreement": False},
        {"group": "nobody", "target": "bbc.co.uk"},
    ]
    answers = run_check_batch(policy_path(SCHOOL), ut1_dir, requests)
    assert [(a.get("action"), a.get("rule")) for a in answers[:3]] == [
        ("block", "no-gaming-in-school-hours"),
        ("block", "no-chat-rooms"),
        ("block", "agreement-required"),
    ]
    assert answers[0]["categories"] == ["games"]
    assert answers[1]["notify"] == list(ICT_DEPARTMENT)
    assert "nobody" in answers[3]["error"] and answers[3]["line"] == 4
