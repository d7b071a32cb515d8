"""Scenarios for The Cavendish School (seed 003), checked against policies/cavendish.yaml.

Each test names the requirement ids (shared/requirements.md §2.4, scenarios §4.4) it checks.
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

SCHOOL = "cavendish"
SEED = "003_6b8bb3da654c2835.txt"
PREFIX = "CAV"

TUESDAY_LESSON = datetime(2025, 3, 4, 11, 0)

STUDENT = Subject(group="pupil")
STAFF = Subject(group="staff")
RESPONSIBLE_PERSONS = ("online-safety-coordinator", "network-manager")
WITH_HEADTEACHER = (*RESPONSIBLE_PERSONS, "headteacher")


# --- agreements: Part 2a (student and parent) and Part 2b (staff, governors, visitors) ---


def test_student_without_signed_agreement_gets_no_internet_cav_029_cav_s01(decider):
    decision = decider.decide(Subject(group="pupil", agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "agreement-required"
    assert "kept on record at the school" in decision.reason


def test_student_and_parent_both_sign_each_year_cav_031_cav_071(policy):
    agreement = next(a for a in policy.agreements if a.id == "student-aua")
    assert sorted(agreement.required_signatories) == ["parent", "user"]
    assert agreement.renew == "school-year"  # from the start of each school year (CAV-071)
    assert "I will not attempt to bypass the internet filtering system" in agreement.statements


@pytest.mark.parametrize("group", ["staff", "governor", "visitor"])
def test_adults_must_sign_the_code_of_conduct_first_cav_032_cav_050_cav_s14(decider, group):
    decision = decider.decide(Subject(group=group, agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "agreement-required"
    assert "I agree to follow this code of conduct" in decision.reason


def test_unidentified_user_is_treated_as_a_student_cav_014(decider):
    decision = decider.decide(Subject(), "roblox.com", TUESDAY_LESSON)
    assert (decision.group, decision.action) == ("pupil", Action.BLOCK)


@pytest.mark.parametrize(
    "host", ["www.childline.org.uk", "ceop.police.uk", "cybermentors.org.uk", "www.childnet.com"]
)
def test_help_named_in_the_curriculum_is_always_reachable_cav_065(decider, host):
    decision = decider.decide(Subject(group="pupil", agreement=False), host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "support-services")


# --- Part 2a: students ---


def test_student_using_a_proxy_is_blocked_and_reported_cav_026_cav_s06(decider):
    decision = decider.decide(STUDENT, "kproxy.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "students-no-bypassing-the-filter"
    assert decision.categories == ("proxy",)
    assert decision.alert is AlertLevel.MEDIUM
    assert decision.notify == WITH_HEADTEACHER
    assert "I will not attempt to bypass the internet filtering system" in decision.reason


def test_student_personal_webmail_is_blocked_cav_018_cav_s07(decider):
    decision = decider.decide(STUDENT, "gmail.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "students-school-email-only")
    assert decision.categories == ("webmail",)
    assert "I will only use my school e-mail address" in decision.reason


def test_student_software_downloads_are_blocked_cav_015_cav_s11(decider):
    decision = decider.decide(STUDENT, "filehippo.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "students-no-downloads")
    assert "I will not download or install software" in decision.reason


@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("roblox.com", "games"),
        ("instagram.com", "social-media"),
        ("omegle.com", "chat"),
        ("amazon.co.uk", "shopping"),
        ("101date.com", "dating"),
    ],
)
def test_students_use_ict_for_school_purposes_only_cav_014_cav_002(decider, host, category):
    decision = decider.decide(STUDENT, host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "students-school-purposes-only"
    assert category in decision.categories


@pytest.mark.parametrize("host", ["en.wikipedia.org", "www.youtube.com", "englishexercises.org"])
def test_learning_resources_stay_open_to_students_cav_066(decider, host):
    # en.wikipedia.org is in UT1's exam-cheating list; no rule blocks `cheating` for that reason.
    decision = decider.decide(STUDENT, host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "default")


def test_student_deliberately_reaching_hate_material_goes_to_the_headteacher_cav_020_cav_080(
    decider,
):
    decision = decider.decide(STUDENT, "14words.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "students-offensive-or-illegal"
    assert "hate-speech" in decision.categories
    assert decision.alert is AlertLevel.MEDIUM
    assert decision.notify == WITH_HEADTEACHER
    assert "offensive or illegal" in decision.reason


def test_accidental_find_is_reported_to_the_esafety_coordinator_cav_079_cav_s03(decider):
    decision = decider.decide(STUDENT, "bbguns.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.categories == ("dangerous-material",)
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == RESPONSIBLE_PERSONS


# --- Part 2b: staff, governors and visitors ---


@pytest.mark.parametrize("group", ["staff", "governor", "visitor"])
def test_adults_do_not_browse_offensive_or_discriminatory_material_cav_041(decider, group):
    decision = decider.decide(Subject(group=group), "14words.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "adults-offensive-illegal-discriminatory"
    assert "offensive, illegal or discriminatory" in decision.reason


def test_staff_proxy_breaches_ict_system_security_cav_034_cav_040(decider):
    decision = decider.decide(STAFF, "teamviewer.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "adults-ict-system-security")
    assert decision.alert is AlertLevel.MEDIUM


@pytest.mark.parametrize("group", ["staff", "governor", "visitor"])
def test_gambling_is_never_a_professional_purpose_cav_033(decider, group):
    decision = decider.decide(Subject(group=group), "000-online-casino.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "adults-professional-purposes")


@pytest.mark.parametrize("host", ["gmail.com", "amazon.co.uk", "instagram.com"])
def test_staff_personal_use_is_warned_not_blocked_cav_033_cav_045(decider, host):
    decision = decider.decide(STAFF, host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.WARN, "adults-personal-use-warning")
    assert "deemed acceptable by the Head or Governing Body" in decision.reason


# --- searches ---


def test_search_for_illegal_material_reaches_the_dsl_and_headteacher_cav_041_cav_081(decider):
    decision = decider.decide(STAFF, google_search("jailbait pics"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "search-illegal")
    assert decision.alert is AlertLevel.CRITICAL
    assert decision.notify[:2] == ("dsl", "headteacher")


def test_student_extremist_search_is_warned_and_reaches_the_dsl_cav_020(decider):
    decision = decider.decide(STUDENT, google_search("join isis"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.WARN, "student-search-extremism")
    assert "dsl" in decision.notify


def test_student_disclosing_risk_is_not_blocked_but_the_dsl_is_told_cav_065(decider):
    decision = decider.decide(STUDENT, google_search("i want to kill myself"), TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "student-search-self-harm")
    assert decision.alert is AlertLevel.CRITICAL
    assert "dsl" in decision.notify


# --- sanctions and the incident log ---


def test_student_sanctions_follow_the_behaviour_policy_cav_006_cav_010_cav_028(policy):
    matrix = next(m for m in policy.sanctions if m.applies_to == "pupil")
    deliberate = next(i for i in matrix.incidents if i.id == "deliberate-access")
    assert {"behaviour-policy", "withdraw-ict-temporarily", "withdraw-ict-permanently"} <= set(
        deliberate.actions
    )
    referrals = {a.id for a in matrix.actions if a.referral}
    assert "contact-parent" in referrals and "contact-parent" in deliberate.actions
    bypass = next(i for i in matrix.incidents if i.id == "bypassing-the-filter")
    assert "proxy" in bypass.categories


def test_staff_sanctions_reach_suspension_dismissal_and_police_cav_007_cav_081(policy):
    matrix = next(m for m in policy.sanctions if m.applies_to == "staff")
    serious = next(i for i in matrix.incidents if i.illegal)
    assert {"immediate-suspension", "dismissal", "police"} <= set(serious.actions)
    assert set(serious.categories) == {"child-sexual-abuse", "terrorism"}
    assert (
        "disciplinary-procedure"
        in next(i for i in matrix.incidents if i.id == "deliberate-access").actions
    )


def test_incident_log_has_the_seed_columns_cav_077(policy):
    log = next(t for t in policy.tables if t.id == "esafety-incident-log")
    assert log.columns == [
        "Date & Time",
        "Name of pupil or staff member",
        "Male or Female",
        "Room and computer/ device number",
        "Details of incident (including evidence)",
        "Actions and reasons",
    ]


# --- the policy file is faithful to the seed ---


def test_every_quote_is_verbatim_from_the_seed(policy):
    assert quotes_missing_from_seed(policy, SEED) == []


def test_every_rule_cites_requirements_that_exist(policy):
    assert_rules_cite_known_requirements(policy, PREFIX)


def test_critical_and_high_alerts_reach_the_dsl_cav_063(policy):
    assert_dsl_hears_high_and_critical(policy)


# --- the `schoolgate check --batch` contract ---


def test_batch_check_answers_one_json_line_per_request_cav_026_cav_018(policy_path, ut1_dir):
    requests = [
        {"group": "pupil", "at": "2025-03-04T11:00", "target": "kproxy.com"},
        {"group": "visitor", "target": "gmail.com"},
        {"group": "pupil", "at": "not a time", "target": "gmail.com"},
    ]
    answers = run_check_batch(policy_path(SCHOOL), ut1_dir, requests)
    assert [(a.get("action"), a.get("rule")) for a in answers[:2]] == [
        ("block", "students-no-bypassing-the-filter"),
        ("warn", "adults-personal-use-warning"),
    ]
    assert answers[0]["alert"] == "medium"
    assert "not a time" in answers[2]["error"] and answers[2]["line"] == 3
