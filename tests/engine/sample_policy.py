"""A small policy used by the engine tests; the real seed policies are tested in tests/policies."""

from __future__ import annotations

from types import SimpleNamespace

from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.policy.loader import parse_policy

SAMPLE_POLICY = """
schema_version: 1
school:
  id: sample-primary
  name: Sample Primary School
  policy_title: Online Safety Policy
contacts:
  - {role: dsl, title: Designated Safeguarding Lead, name: A. Lead}
  - {role: network-manager, title: Network Manager}
  - {role: headteacher, title: Headteacher}
groups:
  - id: infants
    kind: pupil
    title: Infants
    walled_garden: true
    source: {section: Agreements, quote: "I will only use activities that a teacher has allowed"}
  - id: juniors
    kind: pupil
    title: Juniors
  - id: staff
    kind: staff
    title: Staff
    agreement_required: true
periods:
  - {id: lessons, title: Lessons, days: [mon, tue, wed, thu, fri], start: "09:00", end: "12:00"}
  - {id: lunch, title: Lunch, days: [mon, tue, wed, thu, fri], start: "12:00", end: "13:00"}
rules:
  - id: juniors-gambling
    groups: [juniors]
    categories: [gambling]
    action: block
    alert: medium
    source: {section: Filtering, quote: "Gambling sites are blocked", requirements: [STM-001]}
  - id: social-at-lunch
    groups: [staff]
    categories: [social-media]
    action: allow
    periods: [lunch]
    source: {section: Communications, quote: "Staff may use social media at lunch"}
  - id: social-nominated
    groups: [staff]
    categories: [social-media]
    action: allow
    nominated_only: true
    source: {section: Communications, quote: "Allowed for selected staff"}
  - id: social-otherwise
    groups: [staff]
    categories: [social-media]
    action: block
    source: {section: Communications, quote: "Not allowed in lessons"}
  - id: games-warn
    groups: [all]
    categories: [games]
    action: warn
    source: {section: Filtering, quote: "Games are discouraged"}
  - id: proxies
    groups: [all]
    categories: [proxy, vpn]
    action: block
    source: {section: Filtering, quote: "Attempts to bypass the filter are not allowed"}
sites:
  - id: learning-platform
    title: Learning platform
    groups: [all]
    action: allow
    sites: [learn.sample.sch.uk, pbskids.org]
    source: {section: Learning, quote: "The school learning platform is always available"}
  - id: staff-blocked
    title: Sites blocked for staff
    groups: [staff]
    action: block
    sites: [example.net/private]
    source: {section: Filtering, quote: "Blocked pages"}
support_services:
  - {name: Childline, sites: [childline.org.uk]}
keyword_rules:
  - id: self-harm-searches
    library: self-harm
    groups: [all]
    action: allow
    alert: high
    source: {section: Monitoring, quote: "Searches that suggest a risk of self-harm are reported"}
category_alerts:
  - categories: [pornography]
    alert: medium
alert_routes:
  - {level: low, notify: [network-manager]}
  - {level: high, notify: [dsl, network-manager]}
  - {level: critical, notify: [dsl, headteacher]}
agreements:
  - id: staff-aup
    title: Staff AUP
    groups: [staff]
    source: {section: AUP, quote: "Staff must sign before using school systems"}
"""


def sample_index() -> CategoryIndex:
    index = CategoryIndex()
    for domain, category in [
        ("bet365.com", "gambling"),
        ("facebook.com", "social-media"),
        ("minecraft.net", "games"),
        ("hidemyass.com", "proxy"),
        ("badcsam.example", "child-sexual-abuse"),
        ("pornsite.example", "pornography"),
        ("childline.org.uk", "pornography"),
    ]:
        index.add_domain(domain, category)
    index.add_url("news.example/terror", "terrorism")
    return index


def sample_snapshot(text: str = SAMPLE_POLICY) -> SimpleNamespace:
    return SimpleNamespace(policy=parse_policy(text, "sample.yaml"), index=sample_index())
