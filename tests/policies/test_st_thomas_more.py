"""Scenarios for St Thomas More Primary School (seed 001), checked against the policy file.

Each test names the requirement ids (shared/requirements.md §2.2), scenarios (§4.2, STM-Snn) or
ambiguities (§5.1) it checks. Hosts are real entries of the UT1 lists in ../shared/data/ut1, in
the category the test names; the sanction matrices and tables are checked against the grids that
requirements.md §2.8 generated from the seed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action, AlertLevel, Policy, SanctionMatrix
from schoolgate.engine.snapshot import compile_snapshot
from tests.policies.seed_checks import (
    REQUIREMENTS,
    assert_rules_cite_known_requirements,
    plain,
    policy_sources,
    quotes_missing_from_seed,
    run_check_batch,
)

SCHOOL = "st-thomas-more"
SEED = "001_235e2b35bec9b7e8.txt"

TUESDAY_LESSON = datetime(2025, 3, 4, 10, 0)
TUESDAY_AFTERNOON_LESSON = datetime(2025, 3, 4, 14, 0)
TUESDAY_LUNCH = datetime(2025, 3, 4, 12, 30)
SATURDAY = datetime(2025, 3, 8, 11, 0)

KS1 = Subject(group="pupil-ks1")
KS2 = Subject(group="pupil-ks2")
STAFF = Subject(group="staff")
COMMUNITY = Subject(group="community")
PUPILS = (KS1, KS2)
EVERYONE = (KS1, KS2, STAFF, COMMUNITY)

SAFEGUARDING = ("dsl", "online-safety-coordinator", "principal")
FILTER_TEAM = ("online-safety-coordinator", "network-manager")


def _quotes_reason(decision: Decision, words: str) -> None:
    assert words in decision.reason, decision.reason


def _assert_roles(decision: Decision, roles: tuple[str, ...]) -> None:
    assert set(decision.notify) == set(roles), decision.notify


# --- The policy as data: groups, sources, contacts -------------------------------------------


def test_groups_are_the_four_the_issue_names_stm_009_stm_078(policy):
    kinds = {g.id: g.kind for g in policy.groups}
    assert kinds == {
        "pupil-ks1": "pupil",
        "pupil-ks2": "pupil",
        "staff": "staff",
        "community": "community",
    }
    assert policy.group("pupil-ks1").walled_garden  # STM-234
    assert not policy.group("pupil-ks2").walled_garden


def test_every_quote_and_agreement_statement_is_verbatim_from_the_seed(policy):
    """Every `source.quote` (pieces either side of "…") and every AUA statement is in the seed."""
    assert len(policy_sources(policy)) > 100
    assert quotes_missing_from_seed(policy, SEED) == []


def test_every_rule_cites_stm_requirements(policy):
    assert_rules_cite_known_requirements(policy, "STM")


def test_contacts_cover_the_roles_the_seed_names_stm_007_stm_014_stm_024_stm_029(policy):
    roles = policy.contact_roles()
    assert {
        "principal",
        "assistant-principal",
        "dsl",
        "online-safety-coordinator",
        "online-safety-governor",
        "network-manager",
        "lado",
        "police",
        "dbmac",
    } <= roles


def test_high_and_critical_alerts_reach_the_dsl_and_principal_stm_007_stm_032(policy):
    routes = {r.level: set(r.notify) for r in policy.alert_routes}
    assert set(SAFEGUARDING) <= routes[AlertLevel.HIGH]
    assert set(SAFEGUARDING) <= routes[AlertLevel.CRITICAL]
    assert routes[AlertLevel.MEDIUM] == set(FILTER_TEAM)  # STM-316: 123 ICT hears of breaches


# --- Agreements: STM-228, STM-055, STM-035, STM-S01, STM-S26 ---------------------------------


def test_ks2_pupil_without_a_signed_agreement_gets_nothing_stm_228_stm_s01(decider):
    decision = decider.decide(
        Subject(group="pupil-ks2", agreement=False), "bbc.co.uk", datetime.now(UTC)
    )
    assert decision.action is Action.BLOCK
    assert decision.rule == "agreement-required"
    _quotes_reason(decision, "If you do not sign and return this agreement")


def test_community_user_must_sign_before_access_stm_055_stm_282_stm_s26(decider):
    unsigned = decider.decide(
        Subject(group="community", agreement=False), "bbc.co.uk", datetime.now(UTC)
    )
    assert (unsigned.action, unsigned.rule) == (Action.BLOCK, "agreement-required")
    _quotes_reason(unsigned, "sign a Community User AUA before being provided with access")
    signed = decider.decide(COMMUNITY, "bbc.co.uk", SATURDAY)
    assert (signed.action, signed.rule) == (Action.ALLOW, "default")


def test_staff_need_a_signed_staff_and_volunteer_agreement_stm_035_stm_272(decider):
    decision = decider.decide(
        Subject(group="staff", agreement=False), "bbc.co.uk", datetime.now(UTC)
    )
    assert (decision.action, decision.rule) == (Action.BLOCK, "agreement-required")


def test_pupil_agreements_need_the_parent_countersignature_stm_230_stm_238_stm_s02(policy):
    by_id = {a.id: a for a in policy.agreements}
    for agreement_id in ("pupil-aua-ks2", "pupil-aua-foundation-ks1"):
        assert by_id[agreement_id].required_signatories == ["user", "parent"]
        assert any("I give permission" in s for s in by_id[agreement_id].statements)
    assert by_id["staff-volunteer-aua"].required_signatories == ["user"]
    ks1 = by_id["pupil-aua-foundation-ks1"].statements
    assert ks1[1] == (
        "I will only use activities that a teacher or suitable adult has told or allowed me to use"
    )
    assert len(ks1) == 7  # six promises and the parent's permission


def test_help_is_reachable_even_before_the_agreement_is_signed_stm_050_stm_214(decider):
    # childline.org.uk has a URL entry in UT1 `games`; help services come first anyway.
    decision = decider.decide(
        Subject(group="pupil-ks2", agreement=False), "childline.org.uk", datetime.now(UTC)
    )
    assert (decision.action, decision.rule) == (Action.ALLOW, "support-services")


# --- Help services and the learning platform reach every group -------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "www.childline.org.uk",
        "www.samaritans.org",
        "www.nspcc.org.uk",
        "www.ceop.police.uk",
        "www.thinkuknow.co.uk",
        "www.iwf.org.uk",
        "saferinternet.org.uk",
        "www.childnet.com",
    ],
)
def test_support_services_are_never_blocked_stm_050_stm_236_stm_061(decider, host):
    for subject in EVERYONE:
        decision = decider.decide(subject, host, TUESDAY_LESSON)
        assert (decision.action, decision.rule) == (Action.ALLOW, "support-services"), subject


def test_school_mailbox_works_for_pupils_though_webmail_is_blocked_stm_246_stm_125(decider):
    """mail.google.com is UT1 `webmail`; it is the school's Google Apps for Education mail."""
    for subject in EVERYONE:
        decision = decider.decide(subject, "https://mail.google.com/mail/u/0/", TUESDAY_LESSON)
        assert (decision.action, decision.rule) == (Action.ALLOW, "learning-platform")
        assert "webmail" in decision.categories
        _quotes_reason(decision, "Google Apps for Education")


# --- Foundation & KS1: the walled garden (STM-234, STM-S24) ----------------------------------


def test_ks1_reaches_only_approved_activities_stm_234_stm_s24(decider):
    approved = decider.decide(KS1, "https://www.bbc.co.uk/bitesize/subjects", TUESDAY_LESSON)
    assert (approved.action, approved.rule) == (Action.ALLOW, "ks1-approved-activities")
    platform = decider.decide(KS1, "https://docs.google.com/document/d/1", TUESDAY_LESSON)
    assert (platform.action, platform.rule) == (Action.ALLOW, "learning-platform")
    elsewhere = decider.decide(KS1, "https://www.bbc.co.uk/news", TUESDAY_LESSON)
    assert (elsewhere.action, elsewhere.rule) == (Action.BLOCK, "walled-garden")
    _quotes_reason(elsewhere, "I will only use activities that a teacher or suitable adult")


def test_ks1_search_engines_are_outside_the_walled_garden_stm_234(decider):
    decision = decider.decide(KS1, "https://www.google.com/search?q=volcanoes", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "walled-garden")


def test_unidentified_devices_get_the_walled_garden_stm_318(decider):
    decision = decider.decide(Subject(), "https://www.bbc.co.uk/news", TUESDAY_LESSON)
    assert decision.group == "pupil-ks1"
    assert decision.action is Action.BLOCK


# --- Communications table, pupils: every enforceable row "Not allowed" (STM-116…STM-120) -----


@pytest.mark.parametrize(
    ("host", "category", "rule", "quote", "ids"),
    [
        ("tiktok.com", "social-media", "pupils-social-media", "Use of social media", "STM-119"),
        ("web.whatsapp.com", "social-media", "pupils-social-media", "social media", "STM-119"),
        ("snapchat.com", "chat", "pupils-messaging-apps", "Use of messaging apps", "STM-118"),
        ("tumblr.com", "blogs", "pupils-blogs", "Use of blogs", "STM-120"),
        ("hotmail.com", "webmail", "pupils-personal-email", "personal email", "STM-116"),
    ],
)
def test_ks2_communications_not_allowed_even_at_lunch_stm_s04(
    decider, host, category, rule, quote, ids
):
    """STM-116, STM-118, STM-119, STM-120 beat the User Actions table (§5.1.1, STM-164/165)."""
    for moment in (TUESDAY_LESSON, TUESDAY_LUNCH, SATURDAY):
        decision = decider.decide(KS2, host, moment)
        assert decision.action is Action.BLOCK
        assert category in decision.categories
        assert decision.rule in {rule, "pupils-social-media", "pupils-messaging-apps"}
    decision = decider.decide(KS2, host, TUESDAY_LUNCH)
    assert decision.rule == rule, ids
    _quotes_reason(decision, quote)
    _quotes_reason(decision, "Not allowed")


def test_pupil_social_media_attempt_is_logged_to_the_osc_stm_181_stm_026(decider):
    decision = decider.decide(KS2, "tiktok.com", TUESDAY_LUNCH)
    assert decision.alert is AlertLevel.LOW
    assert decision.notify == ("online-safety-coordinator",)


# --- Communications table, staff & other adults (STM-113, STM-116, STM-118…STM-120) ----------


def test_staff_social_media_and_messaging_in_social_time_stm_113_stm_118_stm_119_stm_s05(
    decider,
):
    for host in ("tiktok.com", "snapchat.com", "web.whatsapp.com"):
        for moment in (TUESDAY_LUNCH, SATURDAY):
            decision = decider.decide(STAFF, host, moment)
            assert (decision.action, decision.rule) == (Action.ALLOW, "adults-at-certain-times")
        in_lesson = decider.decide(STAFF, host, TUESDAY_AFTERNOON_LESSON)
        assert (in_lesson.action, in_lesson.rule) == (Action.BLOCK, "adults-not-in-lessons")
        _quotes_reason(in_lesson, "Use of social media")


def test_staff_personal_email_is_allowed_in_the_academy_stm_116(decider):
    decision = decider.decide(STAFF, "outlook.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "adults-personal-email")
    _quotes_reason(decision, "Use of personal email addresses in academy")


def test_staff_blogs_are_allowed_stm_120(decider):
    decision = decider.decide(STAFF, "blogger.com", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "adults-blogs")


def test_community_users_follow_the_other_adults_column_stm_009_stm_119(decider):
    assert decider.decide(COMMUNITY, "tiktok.com", TUESDAY_LUNCH).action is Action.ALLOW
    assert decider.decide(COMMUNITY, "tiktok.com", TUESDAY_LESSON).action is Action.BLOCK


def test_communications_table_rows_are_kept_tick_for_tick_stm_111_to_stm_120(policy):
    table = next(t for t in policy.tables if t.id == "communications")
    assert table.rows == _grid("Communications technologies")[1:]
    rows = {row[0]: row for row in table.rows}
    # Rows that no filter can enforce stay as data for the staff application (§5.6.52).
    assert rows["Use of mobile phones in lessons"][4] == "X"  # staff: Not allowed, STM-112
    assert rows["Taking photos on mobile phones / cameras"][8] == "X"  # pupils, STM-114
    assert rows["Mobile phones may be brought into the academy"][7] == "X"  # with permission


# --- User Actions table (STM-143…STM-166) -------------------------------------------------------


def test_pornography_is_blocked_for_everyone_and_alerts_safeguarding_stm_148_stm_192(decider):
    url = "https://adultstuffonly.com/Browse"  # UT1 adult/urls
    for subject in EVERYONE:
        decision = decider.decide(subject, url, TUESDAY_LUNCH)
        assert decision.action is Action.BLOCK
        assert decision.categories == ("pornography",)
        assert decision.alert is AlertLevel.HIGH
        _assert_roles(decision, SAFEGUARDING)
    assert decision.rule in {"pornography", "walled-garden"}
    staff = decider.decide(STAFF, url, TUESDAY_LUNCH)
    assert staff.rule == "pornography"
    _quotes_reason(staff, "“Pornography”")


def test_hate_sites_are_blocked_and_reach_the_dsl_stm_149_stm_147(decider):
    decision = decider.decide(STAFF, "stormfront.org", TUESDAY_LUNCH)  # UT1 agressif, violence
    assert decision.action is Action.BLOCK
    assert {"hate-speech", "violence"} <= set(decision.categories)
    assert decision.rule in {"discrimination", "threatening-behaviour"}
    assert decision.alert is AlertLevel.HIGH
    _assert_roles(decision, SAFEGUARDING)


@pytest.mark.parametrize(
    ("host", "category", "rule", "quote"),
    [
        ("pokerstars.com", "gambling", "gambling", "On-line gambling"),
        ("coolmathgames.com", "games", "gaming", "On-line gaming (non-educational)"),
        ("englishexercises.org", "educational-games", "gaming", "On-line gaming (educational)"),
        ("1337x.to", "piracy", "copyright", "Infringing copyright"),
        ("tinder.com", "dating", "offensive-or-disreputable", "brings the school into disrepute"),
        ("a-b-seeds.com", "drugs", "offensive-or-disreputable", "ethos of the school"),
    ],
)
def test_unacceptable_rows_are_blocked_for_staff_too_stm_152_to_stm_161(
    decider, host, category, rule, quote
):
    decision = decider.decide(STAFF, host, SATURDAY)
    assert decision.action is Action.BLOCK
    assert category in decision.categories
    assert decision.rule == rule
    _quotes_reason(decision, quote)


def test_educational_games_stay_blocked_even_with_staff_permission_stm_159_stm_s31(decider):
    """§5.1.1: the Unacceptable row wins over the KS2 agreement's "unless I have permission"."""
    nominated = Subject(group="pupil-ks2", nominated=True)
    decision = decider.decide(nominated, "englishexercises.org", TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "gaming")


def test_staff_shopping_only_at_certain_times_stm_162_stm_s30(decider):
    lunch = decider.decide(STAFF, "argos.co.uk", datetime(2025, 3, 4, 12, 45))
    assert (lunch.action, lunch.rule) == (Action.ALLOW, "adults-at-certain-times")
    _quotes_reason(lunch, "On-line shopping / commerce")
    lesson = decider.decide(STAFF, "argos.co.uk", TUESDAY_LESSON)
    assert (lesson.action, lesson.rule) == (Action.BLOCK, "adults-not-in-lessons")
    evening = decider.decide(STAFF, "argos.co.uk", datetime(2025, 3, 4, 19, 0))
    assert evening.action is Action.ALLOW


def test_certain_times_follow_uk_clock_changes_stm_162(decider):
    """12:30 in London is 11:30 UTC in June (BST): lunch, not a lesson."""
    june_lunch_utc = datetime(2025, 6, 10, 11, 30, tzinfo=UTC)
    assert decider.decide(STAFF, "argos.co.uk", june_lunch_utc).action is Action.ALLOW
    naive_1130 = datetime(2025, 6, 10, 11, 30)  # naive = school local time: a lesson
    assert decider.decide(STAFF, "argos.co.uk", naive_1130).action is Action.BLOCK


def test_staff_video_and_file_sharing_are_acceptable_stm_163_stm_166(decider):
    for host in ("www.youtube.com", "dropbox.com"):
        decision = decider.decide(STAFF, host, TUESDAY_LESSON)
        assert (decision.action, decision.rule) == (Action.ALLOW, "file-sharing-and-video")


def test_user_actions_table_is_kept_tick_for_tick_stm_143(policy):
    table = next(t for t in policy.tables if t.id == "user-actions")
    grid = _grid("Unsuitable / inappropriate activities: User Actions")
    assert table.rows == grid[1:]
    assert len(table.rows) == 23
    unused = table.columns.index("Acceptable for nominated users")
    assert all(row[unused] == "" for row in table.rows)  # §5.1.2


# --- KS2 agreement: with a member of staff's permission (STM-217, STM-S03, STM-S30) -----------


@pytest.mark.parametrize(
    ("host", "category"),
    [("www.youtube.com", "streaming"), ("dropbox.com", "file-sharing"), ("ebay.co.uk", "shopping")],
)
def test_ks2_needs_staff_permission_for_video_file_sharing_and_shopping_stm_217(
    decider, host, category
):
    without = decider.decide(KS2, host, TUESDAY_LESSON)
    assert (without.action, without.rule) == (Action.BLOCK, "pupils-without-staff-permission")
    assert category in without.categories
    _quotes_reason(without, "unless I have permission of a member of staff")
    permitted = decider.decide(Subject(group="pupil-ks2", nominated=True), host, TUESDAY_LESSON)
    assert (permitted.action, permitted.rule) == (Action.ALLOW, "pupils-with-staff-permission")


def test_ks2_gambling_has_no_permission_route_stm_161_stm_217(decider):
    permitted = Subject(group="pupil-ks2", nominated=True)
    decision = decider.decide(permitted, "pokerstars.com", TUESDAY_LUNCH)
    assert (decision.action, decision.rule) == (Action.BLOCK, "gambling")


def test_pupils_cannot_download_programmes_staff_are_warned_stm_300_stm_224_stm_264(decider):
    pupil = decider.decide(KS2, "softonic.com", TUESDAY_LESSON)
    assert (pupil.action, pupil.rule) == (Action.BLOCK, "pupils-downloads")
    _quotes_reason(pupil, "Only the Administrator can install programmes")
    staff = decider.decide(STAFF, "softonic.com", TUESDAY_LESSON)
    assert (staff.action, staff.rule) == (Action.WARN, "adults-downloads")
    _quotes_reason(staff, "unless I have permission) to make large downloads")


def test_ai_chat_is_blocked_for_pupils_only_stm_215(decider):
    assert decider.decide(KS2, "chatgpt.com", TUESDAY_LESSON).rule == "pupils-ai-chat"
    assert decider.decide(KS2, "chatgpt.com", TUESDAY_LESSON).action is Action.BLOCK
    assert decider.decide(STAFF, "chatgpt.com", TUESDAY_LESSON).action is Action.ALLOW


def test_ordinary_research_sites_stay_open_for_ks2_stm_215(decider):
    for url in ("https://en.wikipedia.org/wiki/Volcano", "https://www.gov.uk/", "bbc.co.uk"):
        decision = decider.decide(KS2, url, TUESDAY_LESSON)
        assert decision.action is Action.ALLOW, url
        assert decision.alert is AlertLevel.NONE


# --- Circumvention (STM-154, STM-221, STM-317, STM-190, STM-205, STM-S13) ---------------------


@pytest.mark.parametrize(
    ("host", "category"),
    [
        ("croxyproxy.com", "proxy"),
        ("nordvpn.com", "vpn"),
        ("dns.google", "doh"),
        ("anydesk.com", "remote-control"),
    ],
)
def test_pupil_bypass_attempt_is_blocked_and_the_principal_told_stm_190_stm_s13(
    decider, host, category
):
    decision = decider.decide(KS2, host, TUESDAY_AFTERNOON_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "bypass-filtering-pupils")
    assert category in decision.categories
    assert decision.alert is AlertLevel.HIGH
    _assert_roles(decision, SAFEGUARDING)
    _quotes_reason(decision, "bypass the filtering / security systems")


def test_staff_bypass_attempt_is_reported_to_123_ict_stm_205_stm_316(decider):
    decision = decider.decide(STAFF, "nordvpn.com", TUESDAY_LUNCH)
    assert (decision.action, decision.rule) == (Action.BLOCK, "bypass-filtering")
    assert decision.alert is AlertLevel.MEDIUM
    _assert_roles(decision, FILTER_TEAM)
    _quotes_reason(decision, "bypass the filtering or other safeguards")


# --- Illegal content and extremism (STM-075, STM-077, STM-144…STM-147, STM-151) ----------------


@pytest.fixture(scope="module")
def decider_with_illegal_lists(policy, tmp_path_factory) -> Decider:
    """The real policy plus small plain lists in the two categories UT1 does not carry."""
    lists = tmp_path_factory.mktemp("stm-lists")
    (lists / "csa.txt").write_text("csa-listed.example.net\n", encoding="utf-8")
    (lists / "extremism.txt").write_text("extremist-listed.example.net\n", encoding="utf-8")
    (lists / "lists.yaml").write_text(
        "lists:\n"
        "  - {file: csa.txt, format: plain, category: child-sexual-abuse}\n"
        "  - {file: extremism.txt, format: plain, category: extremism}\n",
        encoding="utf-8",
    )
    return Decider(compile_snapshot(policy, [lists]))


def test_illegal_content_is_blocked_for_everyone_and_critical_stm_075_stm_144(
    decider_with_illegal_lists,
):
    for subject in (*EVERYONE, Subject(group="staff", nominated=True)):
        decision = decider_with_illegal_lists.decide(
            subject, "csa-listed.example.net", datetime.now(UTC)
        )
        assert (decision.action, decision.rule) == (Action.BLOCK, "illegal-content")
        assert decision.alert is AlertLevel.CRITICAL
        _assert_roles(decision, SAFEGUARDING)


def test_extremist_material_is_blocked_and_the_dsl_told_stm_077_stm_151(
    decider_with_illegal_lists,
):
    for subject in (KS2, STAFF):
        decision = decider_with_illegal_lists.decide(
            subject, "extremist-listed.example.net", datetime.now(UTC)
        )
        assert (decision.action, decision.rule) == (Action.BLOCK, "extremism")
        assert decision.alert is AlertLevel.HIGH
        _assert_roles(decision, SAFEGUARDING)
        _quotes_reason(decision, "Promotion of extremism or terrorism")


# --- Searches (STM-040, STM-060, STM-041) ------------------------------------------------------


def test_self_harm_search_is_monitored_not_blocked_stm_060_stm_041(decider):
    url = "https://www.google.com/search?q=i+want+to+kill+myself"
    decision = decider.decide(KS2, url, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.ALLOW, "search-self-harm")
    assert decision.alert.rank >= AlertLevel.HIGH.rank
    assert "dsl" in decision.notify
    assert decision.search == "i want to kill myself"
    _quotes_reason(decision, "staff should be vigilant in monitoring")


def test_extremist_search_is_blocked_for_pupils_stm_077(decider):
    url = "https://www.bing.com/search?q=join+isis"
    decision = decider.decide(KS2, url, TUESDAY_LESSON)
    assert (decision.action, decision.rule) == (Action.BLOCK, "search-extremism")
    assert decision.alert.rank >= AlertLevel.HIGH.rank
    assert "dsl" in decision.notify


def test_benign_search_is_quiet_stm_040(decider):
    url = "https://www.google.com/search?q=how+do+volcanoes+erupt"
    decision = decider.decide(KS2, url, TUESDAY_LESSON)
    assert (decision.action, decision.rule, decision.alert) == (
        Action.ALLOW,
        "default",
        AlertLevel.NONE,
    )


# --- Sanction matrices, checked as data against the seed's grids (STM-178…STM-209) ------------


def _grid(title_start: str) -> list[list[str]]:
    """One of the STM grids that requirements.md §2.8 generated from the seed (✓ read as X)."""
    text = REQUIREMENTS.read_text(encoding="utf-8")
    section = text[text.index("### 2.8 St Thomas More tables") : text.index("## 3. Cross-school")]
    for title, body in re.findall(r"\*\*(.+?)\*\*\n\n((?:\|.*\n)+)", section):
        if title.startswith(title_start):
            lines = [ln for ln in body.strip().split("\n") if not re.fullmatch(r"\|[-| ]+\|", ln)]
            return [
                [c.strip().replace("✓", "X") for c in ln.strip().strip("|").split("|")]
                for ln in lines
            ]
    raise LookupError(title_start)


def _as_grid(matrix: SanctionMatrix) -> list[list[str]]:
    ticks = [["X" if a.id in i.actions else "" for a in matrix.actions] for i in matrix.incidents]
    return [[plain(i.title), *row] for i, row in zip(matrix.incidents, ticks, strict=True)]


@pytest.mark.parametrize(
    ("applies_to", "grid_title"),
    [
        ("pupil", "School Actions & Sanctions: Students"),
        ("staff", "School Actions & Sanctions: Staff"),
    ],
)
def test_sanction_matrices_match_the_seed_tick_for_tick_stm_178_to_stm_209(
    policy, applies_to, grid_title
):
    matrix = next(m for m in policy.sanctions if m.applies_to == applies_to)
    grid = _grid(grid_title)
    assert [a.title for a in matrix.actions] == grid[0][1:]
    assert _as_grid(matrix) == [[plain(r[0]), *r[1:]] for r in grid[1:]]
    assert len(matrix.incidents) == 16


def _actions(policy: Policy, applies_to: str, incident: str) -> set[str]:
    matrix = next(m for m in policy.sanctions if m.applies_to == applies_to)
    return set(next(i for i in matrix.incidents if i.id == incident).actions)


def test_pupil_matrix_rows_the_scenarios_rely_on_stm_178_stm_190_stm_192_stm_193(policy):
    assert _actions(policy, "pupil", "illegal-material") == {
        "refer-class-teacher",
        "refer-key-stage-leader",
        "refer-principal",
        "refer-police",
    }  # STM-S16: parents not ticked (§5.1.14)
    assert {"inform-parents", "further-sanction"} <= _actions(
        policy, "pupil", "subverting-filtering"
    )
    deliberate = _actions(policy, "pupil", "deliberate-offensive-or-pornographic")
    assert {"refer-police", "refer-technical-support", "further-sanction"} <= deliberate
    assert _actions(policy, "pupil", "continued-infringements") >= {"inform-parents"}  # STM-188
    matrix = next(m for m in policy.sanctions if m.applies_to == "pupil")
    assert all("remove-network-access" not in i.actions for i in matrix.incidents)  # STM-193


def test_staff_matrix_rows_the_scenarios_rely_on_stm_194_stm_207_stm_209(policy):
    assert _actions(policy, "staff", "illegal-material") == {
        "refer-principal",
        "refer-hr",
        "refer-police",
    }  # STM-194: no line manager
    assert "refer-police" in _actions(policy, "staff", "deliberate-offensive-or-pornographic")
    assert "disciplinary-action" in _actions(policy, "staff", "continued-infringements")
    matrix = next(m for m in policy.sanctions if m.applies_to == "staff")
    assert all("suspension" not in i.actions for i in matrix.incidents)  # STM-S21


def test_blocked_categories_point_at_their_incident_types_stm_190_stm_192(policy):
    pupil = next(m for m in policy.sanctions if m.applies_to == "pupil")
    by_category = {c: i.id for i in pupil.incidents for c in i.categories}
    assert by_category["proxy"] == "subverting-filtering"
    assert by_category["pornography"] == "deliberate-offensive-or-pornographic"
    assert by_category["social-media"] == "social-media-messaging-personal-email"
    illegal = [i for i in pupil.incidents if i.illegal]
    assert [i.id for i in illegal] == ["illegal-material"]


def test_mobile_technologies_table_is_kept_stm_084_to_stm_089(policy):
    table = next(t for t in policy.tables if t.id == "mobile-technologies")
    assert table.rows == _grid("Mobile Technologies")[1:]
    assert table.rows[1][4] == "N/A"  # STM-087: student-owned devices get no network access


# --- The `schoolgate check --batch` contract -----------------------------------------------------


def test_check_batch_decides_one_json_line_per_request(tmp_path, policy_path, ut1_dir):
    requests = [
        {"group": "pupil-ks2", "at": "2025-03-04T12:30", "target": "tiktok.com"},
        {"group": "staff", "at": "2025-03-04T12:30", "target": "tiktok.com"},
        {"group": "pupil-ks2", "agreement": False, "target": "bbc.co.uk"},
        {"group": "pupil-ks1", "at": "2025-03-04T10:00", "target": "www.childline.org.uk"},
        {"group": "nobody", "target": "bbc.co.uk"},
    ]
    lines = run_check_batch(policy_path(SCHOOL), ut1_dir, requests, cache_dir=tmp_path)
    assert [(d.get("action"), d.get("rule")) for d in lines[:4]] == [
        ("block", "pupils-social-media"),
        ("allow", "adults-at-certain-times"),
        ("block", "agreement-required"),
        ("allow", "support-services"),
    ]
    assert lines[0]["notify"] == ["online-safety-coordinator"]
    assert "Use of social media" in lines[0]["reason"]
    assert lines[4]["line"] == 5 and "nobody" in lines[4]["error"]
