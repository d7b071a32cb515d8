"""Scenarios for St Hilary's School (seed 002), checked against policies/st-hilarys.yaml.

Each test names the requirement ids (shared/requirements.md §2.3, scenarios §4.3) it checks.
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

SCHOOL = "st-hilarys"
SEED = "002_5af71910f25b77a2.txt"
PREFIX = "SH"

TUESDAY_LESSON = datetime(2025, 3, 4, 10, 30)
TUESDAY_1730 = datetime(2025, 3, 4, 17, 30)
TUESDAY_1830 = datetime(2025, 3, 4, 18, 30)

PUPIL = Subject(group="pupil")
STAFF = Subject(group="staff")
DSL_AND_ICT = ("dsl", "network-manager")
CRITICAL_ROUTE = ("dsl", "headteacher", "network-manager")


# --- SH-098, SH-087: parents' consent on the acceptable use agreement form gates pupils ---


def test_pupil_without_parental_consent_gets_no_internet_sh_098(decider):
    decision = decider.decide(Subject(group="pupil", agreement=False), "bbc.co.uk", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "agreement-required"
    assert "should provide consent for pupils to use the Internet" in decision.reason


def test_parents_consent_is_the_required_signature_sh_098_sh_087(policy):
    agreement = next(a for a in policy.agreements if a.id == "pupil-aua")
    assert agreement.required_signatories == ["parent"]
    assert policy.group("pupil").agreement_required
    assert not policy.group("staff").agreement_required


def test_unidentified_user_gets_the_pupil_profile_sh_084(decider):
    decision = decider.decide(Subject(), "roblox.com", TUESDAY_LESSON)
    assert decision.group == "pupil"
    assert (decision.action, decision.rule) == (Action.BLOCK, "pupil-games")


# --- SH-102, SH-106: the agencies named are always reachable ---


@pytest.mark.parametrize(
    "host",
    [
        "www.ceop.police.uk",
        "saferinternet.org.uk",
        "www.iwf.org.uk",
        "lgfl.net",
        "childline.org.uk",
    ],
)
def test_named_agencies_and_help_are_reachable_without_consent_sh_102(decider, host):
    decision = decider.decide(Subject(group="pupil", agreement=False), host, TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "support-services"


# --- SH-037: email after 6:00pm is advice, so a warning and never a block (scenario SH-S01) ---


def test_school_email_after_six_is_a_wellbeing_warning_sh_037_sh_s01(decider):
    decision = decider.decide(STAFF, "https://outlook.office.com/mail/", TUESDAY_1830)
    assert decision.action is Action.WARN
    assert decision.rule == "email-after-six"
    assert "not read or responded to after 6:00pm" in decision.reason


def test_school_email_before_six_is_simply_allowed_sh_037_sh_036(decider):
    decision = decider.decide(STAFF, "https://outlook.office.com/mail/", TUESDAY_1730)
    assert (decision.action, decision.rule) == (Action.ALLOW, "learning-platform")


# --- SH-089: pupils only use school-approved systems ---


@pytest.mark.parametrize(
    ("host", "category"),
    [("instagram.com", "social-media"), ("hotmail.com", "webmail"), ("omegle.com", "chat")],
)
def test_pupils_cannot_use_unapproved_systems_sh_089(decider, host, category):
    decision = decider.decide(PUPIL, host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "pupils-use-school-approved-systems"
    assert category in decision.categories
    assert "only use school-approved systems" in decision.reason


@pytest.mark.parametrize(
    "host", ["teams.microsoft.com", "outlook.office365.com", "sthilaryschool.com"]
)
def test_school_approved_microsoft_365_is_open_to_pupils_sh_089_sh_041(decider, host):
    # teams.microsoft.com is in UT1 `chat`; the school's own list decides first.
    decision = decider.decide(PUPIL, host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "learning-platform")


@pytest.mark.parametrize("host", ["instagram.com", "hotmail.com"])
def test_staff_may_use_personal_email_and_social_media_sh_077(decider, host):
    decision = decider.decide(STAFF, host, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "default")


def test_non_educational_games_blocked_for_pupils_educational_ones_open_sh_086(decider):
    assert decider.decide(PUPIL, "roblox.com", TUESDAY_LESSON).action is Action.BLOCK
    decision = decider.decide(PUPIL, "englishexercises.org", TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.categories == ("educational-games",)


# --- SH-028, SH-029: staff only visit sites suitable to be viewed by children ---


@pytest.mark.parametrize("group", ["pupil", "staff"])
@pytest.mark.parametrize(
    ("host", "category"),
    [("101date.com", "dating"), ("000-online-casino.com", "gambling"), ("420.org", "drugs")],
)
def test_sites_unsuitable_for_children_are_blocked_for_staff_too_sh_028_sh_s19(
    decider, group, host, category
):
    decision = decider.decide(Subject(group=group), host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "not-suitable-for-children"
    assert decision.categories == (category,)
    assert decision.notify == ("network-manager",)
    assert "suitable to be viewed by children" in decision.reason


@pytest.mark.parametrize("host", ["kproxy.com", "teamviewer.com", "1clickvpn.com"])
def test_getting_round_the_filter_compromises_security_sh_029(decider, host):
    decision = decider.decide(STAFF, host, TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "no-compromising-security"
    assert decision.alert is AlertLevel.MEDIUM
    assert decision.notify == ("network-manager", "dsl")


def test_pirated_software_sites_are_blocked_sh_056(decider):
    decision = decider.decide(STAFF, "1337x.org", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "no-unlicensed-software")
    assert decision.categories == ("piracy",)


def test_software_downloads_blocked_for_pupils_warned_for_staff_sh_022_sh_023(decider):
    pupil = decider.decide(PUPIL, "filehippo.com", TUESDAY_LESSON)
    staff = decider.decide(STAFF, "filehippo.com", TUESDAY_LESSON)
    assert (pupil.action, pupil.rule) == (Action.BLOCK, "pupil-downloads")
    assert (staff.action, staff.rule) == (Action.WARN, "staff-downloads")
    assert "'exe' files from an unknown source" in staff.reason


# --- SH-024: PREVENT keywords and extremist sites (scenario SH-S16) ---


def test_hate_sites_are_blocked_under_prevent_and_reach_the_dsl_sh_024(decider):
    decision = decider.decide(STAFF, "14words.com", TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "prevent-extremism"
    assert "hate-speech" in decision.categories
    assert decision.alert is AlertLevel.HIGH
    assert decision.notify == DSL_AND_ICT


@pytest.mark.parametrize("group", ["pupil", "staff"])
def test_prevent_keyword_search_is_blocked_for_everyone_sh_024_sh_s16(decider, group):
    decision = decider.decide(Subject(group=group), google_search("join isis"), TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "prevent-keywords"
    assert decision.search == "join isis"
    assert decision.alert is AlertLevel.CRITICAL
    assert decision.notify == CRITICAL_ROUTE
    assert "PREVENT keywords" in decision.reason


def test_educational_prevent_search_is_logged_not_blocked_sh_024(decider):
    # A lesson framing lowers the hit to `low`: logged for the technician, not blocked or paged.
    decision = decider.decide(PUPIL, google_search("history of isis gcse"), TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "prevent-keywords"
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == ("network-manager",)


def test_search_for_illegal_material_goes_to_the_dsl_at_once_sh_106(decider):
    decision = decider.decide(STAFF, google_search("jailbait pics"), TUESDAY_LESSON)
    assert decision.action is Action.BLOCK
    assert decision.rule == "suspected-illegal-searches"
    assert decision.alert is AlertLevel.CRITICAL
    assert "Police and Internet Watch Foundation" in decision.reason


def test_pupil_disclosing_risk_in_a_search_is_not_blocked_but_the_dsl_is_told_sh_084(decider):
    decision = decider.decide(PUPIL, google_search("i want to kill myself"), TUESDAY_LESSON)
    assert decision.action is Action.ALLOW
    assert decision.rule == "pupil-self-harm-searches"
    assert decision.alert is AlertLevel.CRITICAL
    assert "dsl" in decision.notify


def test_real_benign_questions_are_not_blocked_sh_024(decider):
    questions = benign_questions()
    actions = Counter(
        decider.decide(PUPIL, google_search(q), TUESDAY_LESSON).action for q in questions
    )
    assert len(questions) > 3000
    assert actions[Action.BLOCK] <= len(questions) // 500


# --- the policy file is faithful to the seed ---


def test_every_quote_is_verbatim_from_the_seed(policy):
    assert quotes_missing_from_seed(policy, SEED) == []


def test_every_rule_cites_requirements_that_exist(policy):
    assert_rules_cite_known_requirements(policy, PREFIX)


def test_critical_and_high_alerts_reach_the_dsl_sh_066(policy):
    assert_dsl_hears_high_and_critical(policy)


# --- the `schoolgate check --batch` contract ---


def test_batch_check_answers_one_json_line_per_request_sh_037_sh_089(policy_path, ut1_dir):
    requests = [
        {"group": "staff", "at": "2025-03-04T18:30", "target": "outlook.office.com"},
        {"group": "pupil", "at": "2025-03-04T10:30", "target": "instagram.com"},
        {"group": "pupil", "target": "bbc.co.uk", "agreement": "yes"},
    ]
    answers = run_check_batch(policy_path(SCHOOL), ut1_dir, requests)
    assert [(a.get("action"), a.get("rule")) for a in answers[:2]] == [
        ("warn", "email-after-six"),
        ("block", "pupils-use-school-approved-systems"),
    ]
    assert answers[1]["categories"] == ["social-media"]
    assert "agreement" in answers[2]["error"] and answers[2]["line"] == 3
