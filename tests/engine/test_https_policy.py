"""The policy's `https` section: validation with clear errors, the inspection plan (never wins),
safe search by parameter, and the printed policy's monitoring notice. Requirement ids: STM-210,
CAV-027, HG-084 (users are told they are monitored), SH-097 (safe search), TM-006."""

from __future__ import annotations

import pytest

from schoolgate.engine.inspection import InspectionPlan
from schoolgate.engine.policy.loader import PolicyError, load_policy, parse_policy
from schoolgate.engine.policy.render import render_markdown
from schoolgate.engine.safe_search_url import enforce_safe_search
from schoolgate.engine.snapshot import compile_snapshot
from tests.engine.printed_policy import source_of
from tests.gateway.https_support import HTTPS_POLICY
from tests.gateway.proxy_support import POLICY


def _plan(text: str) -> InspectionPlan:
    snapshot = compile_snapshot(parse_policy(text, "t.yaml"), [])
    snapshot.index.add_domain("mybank.test", "banking")
    return InspectionPlan(snapshot)


def _problems(https_block: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(POLICY + https_block, "t.yaml")
    return str(caught.value)


def test_off_by_default_and_protected_hosts_are_never_inspected():
    plan = _plan(POLICY)
    assert not plan.choice("www.google.com").inspect
    assert plan.choice("www.hsbc.co.uk").protected  # banking: never, even for a block page
    assert plan.choice("mybank.test").protected  # banking by category


def test_inspect_list_and_never_inspect_wins():
    plan = _plan(HTTPS_POLICY)
    assert plan.choice("www.google.com").inspect
    assert plan.choice("www.google.co.uk").inspect
    assert plan.choice("inspected.test").inspect
    assert not plan.choice("plain.test").inspect
    bank = plan.choice("www.bank.test")
    assert (bank.inspect, bank.protected) == (False, True)
    assert "bank.test" in bank.reason
    assert plan.choice("www.gov.uk").protected
    assert plan.choice("www.nhs.uk").protected


def test_support_services_are_never_inspected():
    text = HTTPS_POLICY + "support_services:\n  - {name: Childline, sites: [childline.org.uk]}\n"
    text = text.replace("inspected.test, untrusted.test", "inspected.test")
    assert _plan(text).choice("www.childline.org.uk").reason == "never inspected (support services)"


def test_unknown_set_category_and_urls_are_refused_with_their_place():
    text = _problems('https:\n  inspect: ["@search-engine", "category:nope", "a.test/path"]\n')
    assert "https.inspect" in text
    assert "unknown host set" in text and "@search-engines" in text
    assert "t.yaml:" in text


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ('https:\n  inspect: ["category:nope"]\n', "unknown category 'nope'"),
        ("https:\n  inspect: [a.test/path]\n", "give a host name"),
        ("https:\n  enabled: true\n  inspect: []\n", "nothing is listed to inspect"),
        ('https:\n  inspect: ["@banking"]\n', "never_inspect wins"),
        ("https:\n  inspect: [online.hsbc.co.uk]\n", "covered by never-inspected 'hsbc.co.uk'"),
        ("https:\n  inspect: [x.test]\n  never_inspect: [x.test]\n", "never_inspect wins"),
        ("https:\n  enabled: maybe\n", "https.enabled"),
    ],
)
def test_each_mistake_is_named(block: str, expected: str):
    assert expected in _problems(block)


def test_printed_policy_tells_users_they_are_monitored_with_the_seed_quote():
    text = render_markdown(parse_policy(HTTPS_POLICY, "t.yaml"))
    section = text.split("## Secure (HTTPS) sites and monitoring", 1)[1].split("\n## ", 1)[0]
    assert "**You are monitored.**" in section
    cited = source_of(text, section)
    assert "will monitor my use of the systems" in cited and "STM-210" in cited
    assert "STM-210" not in section
    assert "Search engines" in section and "inspected.test" in section
    assert (
        "never** read" in section and "Banking and payments" in section and "bank.test" in section
    )


def test_printed_policy_without_inspection_says_nothing_is_decrypted():
    text = render_markdown(parse_policy(POLICY, "t.yaml"))
    assert "does not decrypt secure (HTTPS) sites" in text


@pytest.mark.parametrize(
    "name", ["st-thomas-more", "cavendish", "heanor-gate", "st-hilarys", "thomas-mills"]
)
def test_seed_policies_leave_inspection_off_with_a_notice_ready(name: str):
    policy = load_policy(f"policies/{name}.yaml")
    assert policy.https.enabled is False
    assert policy.https.notice and policy.https.source is not None
    assert policy.https.inspect == ["@search-engines", "@youtube"]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.google.com/search?q=cats&safe=off",
            "https://www.google.com/search?q=cats&safe=active",
        ),
        (
            "https://www.google.co.uk/search?q=cats",
            "https://www.google.co.uk/search?q=cats&safe=active",
        ),
        ("https://www.bing.com/search?q=cats", "https://www.bing.com/search?q=cats&adlt=strict"),
        ("https://duckduckgo.com/?q=cats&kp=-2", "https://duckduckgo.com/?q=cats&kp=1"),
        ("https://mail.google.com/mail/?q=x", "https://mail.google.com/mail/?q=x"),
        ("https://www.google.com/maps", "https://www.google.com/maps"),
    ],
)
def test_safe_search_parameter(url: str, expected: str):
    assert enforce_safe_search(url).url == expected


def test_youtube_restrict_header_follows_the_policy():
    assert enforce_safe_search("https://www.youtube.com/results?search_query=x").headers == (
        ("YouTube-Restrict", "Strict"),
    )
    assert enforce_safe_search("https://www.youtube.com/", "moderate").headers == (
        ("YouTube-Restrict", "Moderate"),
    )
    assert enforce_safe_search("https://www.youtube.com/", "off").headers == ()
