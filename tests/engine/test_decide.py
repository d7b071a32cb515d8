"""The decision order and its explanations, on a small sample policy."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import pytest

from schoolgate.engine.decide import Decider, Subject, UnknownGroupError
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import load_policy, parse_policy
from schoolgate.engine.policy.schema import Action, AlertLevel
from schoolgate.engine.targets import parse_target
from tests.engine.sample_policy import SAMPLE_POLICY, sample_index, sample_snapshot
from tests.engine.test_alert_exclusions import EXCLUSIONS

MONDAY_LESSON = datetime(2026, 11, 23, 10, 30)
MONDAY_LUNCH = datetime(2026, 11, 23, 12, 15)


@pytest.fixture(scope="module")
def decider() -> Decider:
    return Decider(sample_snapshot())


def test_unlisted_site_follows_the_default_action(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), "https://www.bbc.co.uk/news", MONDAY_LESSON)
    assert (d.action, d.rule, d.alert, d.categories) == (Action.ALLOW, "default", "none", ())


def test_category_rule_blocks_with_its_quote(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), "http://www.BET365.com./sports", MONDAY_LESSON)
    assert d.action is Action.BLOCK
    assert d.rule == "juniors-gambling"
    assert d.categories == ("gambling",)
    assert d.alert is AlertLevel.MEDIUM
    assert d.notify == ("network-manager",)
    assert "Gambling sites are blocked" in d.reason
    assert d.source is not None and d.source.requirements == ["STM-001"]


def test_illegal_content_is_blocked_for_everyone_and_critical(decider: Decider) -> None:
    for group in ("infants", "juniors", "staff"):
        d = decider.decide(Subject(group, nominated=True), "cdn.badcsam.example", MONDAY_LUNCH)
        assert (d.action, d.rule, d.alert) == (Action.BLOCK, "illegal-content", "critical")
        assert d.notify == ("dsl", "headteacher")


def test_illegal_url_prefix_beats_an_allowed_host(decider: Decider) -> None:
    assert decider.decide(Subject("staff"), "news.example/", MONDAY_LESSON).action is Action.ALLOW
    d = decider.decide(Subject("staff"), "http://news.example/terror/video", MONDAY_LESSON)
    assert d.rule == "illegal-content"


def test_support_services_are_reachable_whatever_the_lists_say(decider: Decider) -> None:
    # The sample index deliberately mislists Childline: help must still never be blocked.
    for group in ("infants", "juniors", "staff"):
        d = decider.decide(Subject(group, agreement=False), "www.childline.org.uk", MONDAY_LESSON)
        assert (d.action, d.rule) == (Action.ALLOW, "support-services")


def test_unsigned_agreement_blocks_everything_but_help(decider: Decider) -> None:
    d = decider.decide(Subject("staff", agreement=False), "www.bbc.co.uk", MONDAY_LESSON)
    assert (d.action, d.rule) == (Action.BLOCK, "agreement-required")
    assert "Staff must sign" in d.reason


def test_walled_garden_only_allows_approved_sites(decider: Decider) -> None:
    d = decider.decide(Subject("infants"), "www.bbc.co.uk", MONDAY_LESSON)
    assert (d.action, d.rule) == (Action.BLOCK, "walled-garden")
    assert "teacher has allowed" in d.reason
    d = decider.decide(Subject("infants"), "https://pbskids.org/games", MONDAY_LESSON)
    assert (d.action, d.rule) == (Action.ALLOW, "learning-platform")


@pytest.mark.parametrize(
    ("subject", "rule"),
    [
        (Subject("infants"), "walled-garden"),
        (Subject("staff", agreement=False), "agreement-required"),
    ],
)
def test_a_search_blocked_by_an_earlier_step_still_raises_its_alert(decider, subject, rule):
    """A young child in a walled garden, or a user who has not signed yet, who searches how to
    hurt themselves: the page stays blocked, and the DSL still hears of it (issue 8)."""
    url = "https://www.google.com/search?q=how+to+kill+myself"
    d = decider.decide(subject, url, MONDAY_LESSON)
    assert (d.action, d.rule) == (Action.BLOCK, rule)
    assert d.alert.rank >= AlertLevel.HIGH.rank and d.search == "how to kill myself"
    assert "dsl" in d.notify and d.keywords
    quiet = decider.decide(subject, "https://www.google.com/search?q=tudor+houses", MONDAY_LESSON)
    assert (quiet.rule, quiet.alert) == (rule, AlertLevel.NONE)


def test_periods_and_nominated_users(decider: Decider) -> None:
    lesson = decider.decide(Subject("staff"), "facebook.com", MONDAY_LESSON)
    lunch = decider.decide(Subject("staff"), "facebook.com", MONDAY_LUNCH)
    nominated = decider.decide(Subject("staff", nominated=True), "facebook.com", MONDAY_LESSON)
    weekend = decider.decide(Subject("staff"), "facebook.com", datetime(2026, 11, 28, 12, 15))
    assert (lesson.action, lesson.rule) == (Action.BLOCK, "social-otherwise")
    assert (lunch.action, lunch.rule) == (Action.ALLOW, "social-at-lunch")
    assert (nominated.action, nominated.rule) == (Action.ALLOW, "social-nominated")
    assert weekend.action is Action.BLOCK


def test_period_boundaries_are_end_exclusive(decider: Decider) -> None:
    at_noon = decider.decide(Subject("staff"), "facebook.com", datetime(2026, 11, 23, 12, 0))
    at_one = decider.decide(Subject("staff"), "facebook.com", datetime(2026, 11, 23, 13, 0))
    assert at_noon.rule == "social-at-lunch"
    assert at_one.rule == "social-otherwise"


def test_aware_moments_are_converted_to_school_time(decider: Decider) -> None:
    from zoneinfo import ZoneInfo

    # 12:15 in London in November is 07:15 in New York.
    moment = datetime(2026, 11, 23, 7, 15, tzinfo=ZoneInfo("America/New_York"))
    assert decider.decide(Subject("staff"), "facebook.com", moment).rule == "social-at-lunch"


def test_site_list_url_prefix(decider: Decider) -> None:
    assert decider.decide(Subject("staff"), "example.net/private/x", MONDAY_LESSON).rule == (
        "staff-blocked"
    )
    assert decider.decide(Subject("staff"), "example.net/public", MONDAY_LESSON).rule == "default"
    # Like a host entry, a URL-prefix entry covers the host's subdomains.
    www = decider.decide(Subject("staff"), "http://www.example.net/private/y", MONDAY_LESSON)
    assert www.rule == "staff-blocked"
    assert decider.decide(Subject("staff"), "example.net/privateer", MONDAY_LESSON).rule == (
        "staff-blocked"
    )


def test_warn_action(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), "https://minecraft.net/", MONDAY_LESSON)
    assert (d.action, d.rule) == (Action.WARN, "games-warn")
    assert d.reason.startswith("Warning:")


def test_circumvention_alerts_at_least_low(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), "www.hidemyass.com", MONDAY_LESSON)
    assert (d.action, d.alert, d.notify) == (Action.BLOCK, "low", ("network-manager",))


def test_category_alert_without_a_block_rule(decider: Decider) -> None:
    d = decider.decide(Subject("staff"), "pornsite.example", MONDAY_LESSON)
    assert d.alert is AlertLevel.MEDIUM


def test_self_harm_search_raises_high_and_notifies_the_dsl(decider: Decider) -> None:
    d = decider.decide(
        Subject("juniors"),
        "https://www.google.co.uk/search?q=how+to+cut+myself+without+anyone+knowing",
        MONDAY_LESSON,
    )
    assert d.search == "how to cut myself without anyone knowing"
    assert d.alert.rank >= AlertLevel.HIGH.rank
    assert "dsl" in d.notify
    assert d.rule == "self-harm-searches"


def test_help_seeking_and_identity_searches_stay_quiet(decider: Decider) -> None:
    for query in ("lgbt+support", "how+to+stay+safe+online", "am+i+gay", "muslim+prayer+times"):
        d = decider.decide(
            Subject("juniors"), f"https://www.bing.com/search?q={query}", MONDAY_LESSON
        )
        assert (d.action, d.alert) == (Action.ALLOW, AlertLevel.NONE), query


def test_unidentified_users_fall_to_the_strictest_pupil_group(decider: Decider) -> None:
    assert decider.default_group == "infants"
    assert decider.decide(Subject(None), "www.bbc.co.uk", MONDAY_LESSON).rule == "walled-garden"


def test_policy_default_group_wins() -> None:
    text = SAMPLE_POLICY.replace(
        "schema_version: 1", "schema_version: 1\nfiltering:\n  default_group: juniors"
    )
    assert Decider(sample_snapshot(text)).default_group == "juniors"


def test_unknown_group_is_a_clear_error(decider: Decider) -> None:
    with pytest.raises(UnknownGroupError, match="unknown group 'year7'"):
        decider.decide(Subject("year7"), "bbc.co.uk", MONDAY_LESSON)


def test_decision_dict_has_the_contract_keys(decider: Decider) -> None:
    d = decider.decide(Subject("juniors"), "bet365.com", MONDAY_LESSON).to_dict()
    assert {"action", "categories", "rule", "reason", "alert", "notify"} <= d.keys()
    assert d["action"] == "block" and d["categories"] == ["gambling"]


def test_a_period_may_run_to_midnight() -> None:
    text = SAMPLE_POLICY.replace('start: "12:00", end: "13:00"}', 'start: "12:00", end: "24:00"}')
    decider = Decider(sample_snapshot(text))
    late = decider.decide(Subject("staff"), "facebook.com", datetime(2026, 11, 23, 23, 59, 59))
    assert late.rule == "social-at-lunch"


@pytest.mark.parametrize("exclusions", [False, True])
def test_names_decided_from_their_shape_match_the_full_decision(exclusions, tmp_path) -> None:
    """Hosts no site list, support service or alert exclusion names are decided once per
    group, subject flags, categories and minute, then given their own name
    (`Decider._shaped`): the result must be exactly what the full evaluation gives, for every
    group, flag, list, exclusion and moment."""
    policy = parse_policy(SAMPLE_POLICY, "sample.yaml")
    if exclusions:  # bet365.com, badcsam.example and hidemyass.com have excluded alerts
        path = tmp_path / "sample.yaml"
        path.write_text(SAMPLE_POLICY, encoding="utf-8")
        changes_path(path).write_text(EXCLUSIONS, encoding="utf-8")
        policy = load_policy(path)
    index = sample_index()
    index.add_domain("othercasino.example", "gambling")  # like bet365.com, but not excluded
    shaped = Decider(SimpleNamespace(policy=policy, index=index))
    full = Decider(SimpleNamespace(policy=policy, index=index))
    full._site_hosts = frozenset()  # forces every name down the full evaluation
    full._some_site_lists_everything = True
    hosts = [
        "www.bbc.co.uk",
        "othercasino.example",
        "a.b.bet365.com",
        "x.bet365.com",
        "hidemyass.com",
        "cdn.badcsam.example",
        "news.example",
        "unknown-1.example",
        "unknown-2.example.org",
        "spin-casino-wins.example",
        "m.facebook.com",
        "127.0.0.1",
    ]
    moments = [
        MONDAY_LESSON,
        datetime(2026, 11, 23, 11, 59, 59),
        datetime(2026, 11, 23, 12, 0),  # lunch starts: social sites open for staff
        MONDAY_LUNCH,
        datetime(2026, 11, 23, 13, 0),
        datetime(2026, 11, 28, 23, 59, 59),
    ]
    subjects = [
        Subject(group, agreement=agreement, nominated=nominated)
        for group in ("infants", "juniors", "staff")
        for agreement in (True, False)
        for nominated in (True, False)
    ]
    for moment in moments:  # outermost: shapes are kept per minute
        for subject in subjects:
            for host in hosts:
                a = shaped.decide(subject, host, moment)
                b = full.decide(subject, host, moment)
                assert a == b, (subject, host, moment)
    assert shaped._shapes  # the shaped path was taken


def test_is_plain_says_which_names_share_their_categories_decision() -> None:
    """`Decider.is_plain`: the names the DNS fast lane may answer from a decision learnt for
    other names with the same categories (issue 9): none a site list or support service names,
    nor their sub-domains, nor a search."""
    decider = Decider(sample_snapshot())
    plain = ["news.example", "unknown-2.example.org", "learn.sample.sch.uk.example", "uk"]
    named = ["learn.sample.sch.uk", "www.learn.sample.sch.uk", "childline.org.uk", "example.net"]
    assert all(decider.is_plain(parse_target(host)) for host in plain)
    assert not any(decider.is_plain(parse_target(host)) for host in named)
    assert not decider.is_plain(parse_target("https://www.google.com/search?q=help"))
    assert {"learn.sample.sch.uk", "childline.org.uk"} <= decider.hosts_not_plain()


def test_no_name_is_plain_when_a_period_starts_off_the_minute() -> None:
    text = SAMPLE_POLICY.replace('start: "12:00", end: "13:00"', 'start: "12:00:30", end: "13:00"')
    decider = Decider(sample_snapshot(text))
    assert decider.hosts_not_plain() is None
    assert not decider.is_plain(parse_target("news.example"))
