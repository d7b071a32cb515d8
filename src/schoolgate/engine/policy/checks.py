"""Checks that span several parts of a policy (the schema checks each part on its own)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from schoolgate.engine.alerting import within_is_known
from schoolgate.engine.policy.schema import ALL_GROUPS, Action, Policy
from schoolgate.engine.taxonomy import CATEGORIES, ILLEGAL_CATEGORIES, KEYWORD_LIBRARIES

Location = tuple[str | int, ...]
Found = Iterator[tuple[Location, str]]


def cross_reference_problems(policy: Policy) -> list[tuple[Location, str]]:
    return [
        *_duplicate_ids(policy),
        *_group_references(policy),
        *_period_references(policy),
        *_illegal_never_allowed(policy),
        *_contact_references(policy),
        *_other_references(policy),
        *_https_problems(policy),
    ]


def _duplicates(ids: list[str], loc: str | tuple[str, ...]) -> Found:
    counts = Counter(ids)
    prefix = loc if isinstance(loc, tuple) else (loc,)
    for i, item in enumerate(ids):
        if counts[item] > 1:
            yield (*prefix, i, "id"), f"id {item!r} is used more than once"


def _duplicate_ids(policy: Policy) -> Found:
    yield from _duplicates([g.id for g in policy.groups], "groups")
    yield from _duplicates([p.id for p in policy.periods], "periods")
    yield from _duplicates([r.id for r in policy.rules], "rules")
    yield from _duplicates([s.id for s in policy.sites], "sites")
    yield from _duplicates([k.id for k in policy.keyword_rules], "keyword_rules")
    yield from _duplicates([a.id for a in policy.agreements], "agreements")
    yield from _duplicates([c.id for c in policy.consents], "consents")
    yield from _duplicates([c.id for c in policy.publishing], "publishing")
    yield from _duplicates([c.id for c in policy.training], "training")
    yield from _duplicates([t.id for t in policy.tables], "tables")
    yield from _duplicates([m.applies_to for m in policy.sanctions], "sanctions")
    yield from _duplicates([c.id for c in policy.concerns.categories], ("concerns", "categories"))


def _group_references(policy: Policy) -> Found:
    known = {g.id for g in policy.groups} | {ALL_GROUPS}
    for section in ("rules", "sites", "keyword_rules", "agreements", "training"):
        for i, item in enumerate(getattr(policy, section)):
            for j, group in enumerate(item.groups):
                if group not in known:
                    yield (section, i, "groups", j), f"unknown group {group!r}"
    for j, group in enumerate(policy.safe_search.groups):
        if group not in known:
            yield ("safe_search", "groups", j), f"unknown group {group!r}"
    default = policy.filtering.default_group
    if default is not None and default not in known - {ALL_GROUPS}:
        yield ("filtering", "default_group"), f"unknown group {default!r}"
    if default is None and not any(g.kind == "pupil" for g in policy.groups):
        yield (
            ("filtering", "default_group"),
            ("no pupil group to fall back on: name the group for users who cannot be identified"),
        )


def _period_references(policy: Policy) -> Found:
    known = {p.id for p in policy.periods}
    for section in ("rules", "sites"):
        for i, item in enumerate(getattr(policy, section)):
            for j, period in enumerate(item.periods):
                if period.removeprefix("outside:") not in known:
                    yield (section, i, "periods", j), f"unknown period {period!r}"


def _illegal_never_allowed(policy: Policy) -> Found:
    # UK Safer Internet Centre: nobody may allow the illegal categories, whatever the policy says.
    for i, rule in enumerate(policy.rules):
        illegal = ILLEGAL_CATEGORIES.intersection(rule.categories)
        if illegal and rule.action is not Action.BLOCK:
            yield (
                ("rules", i, "action"),
                (
                    f"illegal categories {sorted(illegal)} must always be blocked; "
                    f"no policy may {rule.action.value} them"
                ),
            )
    for name, target in policy.filtering.category_map.items():
        if target not in CATEGORIES:
            yield ("filtering", "category_map", name), f"unknown category {target!r}"


def _contact_references(policy: Policy) -> Found:
    roles = policy.contact_roles()
    for i, route in enumerate(policy.alert_routes):
        for j, role in enumerate(route.notify):
            if role not in roles:
                yield ("alert_routes", i, "notify", j), f"no contact has role {role!r}"
        if route.within is not None and not within_is_known(route.within):
            yield (
                ("alert_routes", i, "within"),
                f"{route.within!r} is not a delivery deadline; write 'immediately', "
                "'same school day' or a duration like '15 minutes' or '2 hours'",
            )
    for j, role in enumerate(policy.monitoring.out_of_hours):
        if role not in roles:
            yield ("monitoring", "out_of_hours", j), f"no contact has role {role!r}"


def _other_references(policy: Policy) -> Found:
    for i, rule in enumerate(policy.keyword_rules):
        if rule.library not in KEYWORD_LIBRARIES:
            yield (
                ("keyword_rules", i, "library"),
                (f"unknown keyword library {rule.library!r}; known: {sorted(KEYWORD_LIBRARIES)}"),
            )
    agreements = {a.id for a in policy.agreements}
    for i, group in enumerate(policy.groups):
        if group.agreement is not None and group.agreement not in agreements:
            yield ("groups", i, "agreement"), f"unknown agreement {group.agreement!r}"
    consents = {c.id for c in policy.consents}
    for i, channel in enumerate(policy.publishing):
        for j, consent in enumerate(channel.consents):
            if consent not in consents:
                yield ("publishing", i, "consents", j), f"unknown consent {consent!r}"
    for i, alert in enumerate(policy.category_alerts):
        for j, category in enumerate(alert.categories):
            if category not in CATEGORIES:
                yield ("category_alerts", i, "categories", j), f"unknown category {category!r}"
    themes = CATEGORIES.keys() | KEYWORD_LIBRARIES.keys()
    for i, category in enumerate(policy.concerns.categories):
        for j, theme in enumerate(category.themes):
            if theme not in themes:
                yield (
                    ("concerns", "categories", i, "themes", j),
                    f"unknown theme {theme!r}: use a keyword library or a category",
                )
    for i, matrix in enumerate(policy.sanctions):
        for j, incident in enumerate(matrix.incidents):
            for k, category in enumerate(incident.categories):
                if category not in CATEGORIES:
                    yield (
                        ("sanctions", i, "incidents", j, "categories", k),
                        (f"unknown category {category!r}"),
                    )


def _https_problems(policy: Policy) -> Found:
    """`never_inspect` always wins, so an `inspect` entry it (or a protected set) covers is a
    mistake the school should see, not a silent no-op."""
    from schoolgate.engine.https_sets import PROTECTED_SETS, SETS, host_name

    https = policy.https
    if https.enabled and not https.inspect:
        yield ("https", "inspect"), "inspection is enabled but nothing is listed to inspect"
    never = set(https.never_inspect) | {f"@{name}" for name in PROTECTED_SETS}
    never_hosts = {host_name(e) for e in https.never_inspect if e[0] != "@" and ":" not in e}
    for name in PROTECTED_SETS:
        never_hosts |= SETS[name].suffixes
    for svc in policy.support_services:
        never_hosts |= {_host_or_empty(site) for site in svc.sites}
    for i, entry in enumerate(https.inspect):
        if entry in never:
            yield ("https", "inspect", i), f"{entry!r} is also never inspected; never_inspect wins"
        elif entry[0] != "@" and ":" not in entry:
            labels = host_name(entry).split(".")
            covered = [".".join(labels[k:]) for k in range(len(labels))]
            hit = next((h for h in covered if h in never_hosts), None)
            if hit is not None:
                yield (
                    ("https", "inspect", i),
                    f"{entry!r} is covered by never-inspected {hit!r} (banking, health, "
                    "government, pinned apps, support services or never_inspect); remove it",
                )


def _host_or_empty(site: str) -> str:
    from schoolgate.engine.targets import TargetError, parse_target

    try:
        return parse_target(site).host
    except TargetError:
        return ""
