"""The UK Safer Internet Centre "appropriate filtering" and "appropriate monitoring" self-check,
generated from the policy, the running gateway's snapshot and the records (issue 12; DfE
filtering and monitoring standards 3 and 4; STM-075, STM-077, STM-318, STM-319, CAV-020).

One item per point of the UKSIC definitions, each Met, Partly or Gap with what shows it: a page
of this application, a section of the policy, or a document in docs/. The rule for each status
is written next to it and is deliberately strict: "Met" only where Schoolgate itself does it and
the records or the running gateway show it; what Schoolgate cannot see (an upstream provider's
IWF membership, devices away from the school network) is a Gap, said plainly, with what would
close it. Built like the DfE evidence pack (`reviews/evidence.py`) and exported the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from schoolgate.app.alerts.models import Alert
from schoolgate.app.console.gateway_state import current_decider
from schoolgate.app.console.models import Device, UnblockRequest
from schoolgate.app.governance.models import FilterChange
from schoolgate.app.reviews.models import SelfTestRun
from schoolgate.app.reviews.selftest import latest_run
from schoolgate.engine.policy.schema import ALL_GROUPS, Action, Group, Policy
from schoolgate.engine.taxonomy import CATEGORIES, CIRCUMVENTION_CATEGORIES, LIKELY_CATEGORIES
from schoolgate.gateway.selftest import ProbeResult, SelfTestReport

MET, PARTLY, GAP = "Met", "Partly", "Gap"
CSV_COLUMNS = ["Checklist", "Section", "Item", "Status", "What shows it", "Evidence"]

# UKSIC "inappropriate online content" -> Schoolgate categories (engine/taxonomy.py).
CONTENT = (
    ("Discrimination", ("discrimination", "hate-speech")),
    ("Drugs / substance abuse", ("drugs",)),
    ("Extremism", ("extremism",)),
    ("Gambling", ("gambling",)),
    ("Malware / hacking", ("malware-hacking",)),
    ("Pornography", ("pornography",)),
    ("Piracy and copyright theft", ("piracy",)),
    ("Self harm", ("self-harm",)),
    ("Violence", ("violence",)),
)


@dataclass
class Evidence:
    label: str
    url: str = ""
    """A page of this application; empty for a policy section or a document."""
    can_open: bool = True
    """Whether the reader's role may open `url` (set by the view; a governor reads the
    self-check but not the network manager's console)."""


@dataclass
class CheckItem:
    checklist: str
    section: str
    title: str
    status: str
    shows: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Facts:
    """What the items are judged on, read once."""

    policy: Policy
    listed: frozenset[str]
    """Categories at least one list in the running gateway's snapshot supplies."""
    snapshot_file: bool
    probes: dict[str, list[ProbeResult]] = field(default_factory=dict)
    """The latest filtering self-test's probes by category (`reviews.selftest`), if any."""
    probe_run: SelfTestRun | None = None


def facts(policy: Policy) -> Facts:
    loaded = current_decider()
    snapshot = loaded.decider.snapshot
    listed = set(snapshot.index.categories) - LIKELY_CATEGORIES
    for source in getattr(snapshot, "sources", None) or []:
        listed.update(source.get("categories") or [])
    run = latest_run()
    probes: dict[str, list[ProbeResult]] = {}
    if run is not None:
        for result in SelfTestReport.from_json(run.report).results:
            probes.setdefault(result.category, []).append(result)
    return Facts(policy, frozenset(listed), loaded.path is not None, probes, run)


def self_check(policy: Policy) -> list[CheckItem]:
    known = facts(policy)
    return [
        *_illegal(known),
        *(_content(known, title, ids) for title, ids in CONTENT),
        *(build(known) for build in FILTERING_FEATURES),
        *(build(known) for build in MONITORING),
    ]


# What the policy does for a group and a category -------------------------------------------


def treatment(policy: Policy, group: Group, category: str) -> str:
    """ "blocked", "blocked at some times", "warned" or "allowed", read from the policy as the
    engine reads it: the walled garden first, then the rules for the group and category in
    order (a rule limited to periods decides only then, so later rules decide the rest of the
    time; nominated-only rules are exceptions for named people), else the default action."""
    if group.walled_garden:
        return "blocked"
    actions: set[Action] = set()
    for rule in policy.rules:
        applies = ALL_GROUPS in rule.groups or group.id in rule.groups
        if not applies or category not in rule.categories or rule.nominated_only:
            continue
        actions.add(rule.action)
        if not rule.periods:
            break
    else:
        actions.add(policy.filtering.default_action)
    if actions == {Action.BLOCK}:
        return "blocked"
    if Action.BLOCK in actions:
        return "blocked at some times"
    return "warned" if Action.WARN in actions else "allowed"


def _pupil_groups(policy: Policy) -> list[Group]:
    return [g for g in policy.groups if g.kind == "pupil"] or list(policy.groups)


def _section(source) -> Evidence | None:
    return Evidence(f"Policy: {source.section}") if source is not None else None


def _rule_sections(policy: Policy, categories: tuple[str, ...]) -> list[Evidence]:
    seen: list[str] = []
    for rule in policy.rules:
        if set(categories) & set(rule.categories) and rule.source.section not in seen:
            seen.append(rule.source.section)
    return [Evidence(f"Policy: {s}") for s in seen[:3]]


# Filtering: illegal content -----------------------------------------------------------------


def _illegal(known: Facts) -> list[CheckItem]:
    out = []
    for category, title, source in (
        (
            "child-sexual-abuse",
            "Child sexual abuse content: IWF member, IWF URL list",
            "the IWF URL list is given only to IWF members",
        ),
        (
            "terrorism",
            "Terrorist content: the police-assessed (CTIRU) list",
            "the Home Office's police-assessed list reaches schools through their filtering "
            "provider",
        ),
    ):
        said = _provider_says(known.policy, "iwf" if category == "child-sexual-abuse" else "")
        if category in known.listed:
            status, shows = (
                MET,
                (
                    "A list for this category is loaded in the running gateway; the category is "
                    "always blocked with a critical alert and no rule can allow it."
                ),
            )
        else:
            status, shows = (
                GAP,
                (
                    "No list for this category is loaded in the running gateway, so Schoolgate "
                    f"cannot recognise such sites: {source}. Schoolgate blocks the category, with "
                    "a critical alert and no way to allow it, as soon as a list supplies it "
                    "(the hashed list format, docs/lists.md)."
                ),
            )
            if said:
                shows += f" The policy says: {said} — Schoolgate cannot check that provider."
        out.append(
            CheckItem(
                "Filtering",
                "Illegal online content",
                title,
                status,
                shows,
                [
                    Evidence("Gateway health: lists loaded", reverse("console-dashboard")),
                    Evidence("docs/lists.md; docs/decisions.md (rule illegal-content)"),
                ],
            )
        )
    return out


def _provider_says(policy: Policy, word: str) -> str:
    if not word:
        return ""
    for contact in policy.contacts:
        for duty in contact.duties:
            if word in duty.lower():
                return f"{contact.title}: {duty}"
    return ""


# Filtering: inappropriate content ----------------------------------------------------------


def _content(known: Facts, title: str, categories: tuple[str, ...]) -> CheckItem:
    policy = known.policy
    lines, blocked_everywhere, blocked_somewhere = [], True, False
    for group in _pupil_groups(policy):
        found = sorted({treatment(policy, group, c) for c in categories})
        lines.append(f"{group.title}: {' / '.join(found)}")
        blocked_everywhere &= found == ["blocked"]
        blocked_somewhere |= any(f.startswith("blocked") for f in found)
    listed = [c for c in categories if c in known.listed]
    if not listed:
        lines.append("no list in the running gateway supplies this category")
    tried = [p for c in categories for p in known.probes.get(c, [])]
    wrong = [p for p in tried if not p.ok]
    evidence = []
    if known.probe_run is not None and tried:
        when = timezone.localtime(known.probe_run.ran_at)
        lines.append(
            f"the filtering self-test of {when:%d %b %Y} tried {len(tried)} site(s) through the "
            + (
                f"gateway: {len(wrong)} not decided as the policy says"
                if wrong
                else "gateway, all decided as the policy says"
            )
        )
        evidence.append(
            Evidence(
                "Filtering self-test", reverse("selftest-run-detail", args=[known.probe_run.pk])
            )
        )
    else:
        lines.append("not yet tried through the gateway by the filtering self-test")
    if blocked_everywhere and listed and not wrong:
        status = MET
    elif blocked_somewhere:
        status = PARTLY
    else:
        status = GAP
    names = ", ".join(CATEGORIES[c].title for c in categories)
    return CheckItem(
        "Filtering",
        "Inappropriate online content",
        title,
        status,
        f"Schoolgate category {names}. " + "; ".join(lines) + ".",
        [
            *_rule_sections(policy, categories),
            *evidence,
            Evidence("Why is this blocked? (try a site)", reverse("console-tester")),
        ],
    )


# Filtering: system features ----------------------------------------------------------------


def _feature(title: str, status: str, shows: str, *evidence: Evidence | None) -> CheckItem:
    return CheckItem(
        "Filtering",
        "Filtering system features",
        title,
        status,
        shows,
        [e for e in evidence if e is not None],
    )


def _differentiated(known: Facts) -> CheckItem:
    policy = known.policy
    kinds = {g.kind for g in policy.groups}
    status = MET if len(policy.groups) > 1 and "pupil" in kinds else PARTLY
    titles = ", ".join(g.title for g in policy.groups)
    return _feature(
        "Age appropriate, differentiated filtering",
        status,
        f"{len(policy.groups)} groups with their own rules: {titles}.",
        Evidence("Devices and groups", reverse("console-devices")),
        Evidence("Policy: groups and rules"),
    )


def _circumvention(known: Facts) -> CheckItem:
    policy = known.policy
    lines = []
    weakest = MET
    for group in _pupil_groups(policy):
        found = {treatment(policy, group, c) for c in sorted(CIRCUMVENTION_CATEGORIES)}
        lines.append(f"{group.title}: {' / '.join(sorted(found))}")
        if found != {"blocked"}:
            weakest = PARTLY if any(f.startswith("blocked") for f in found) else GAP
    return _feature(
        "Circumvention",
        weakest,
        "Proxies, VPNs, DNS over HTTPS and remote access — "
        + "; ".join(lines)
        + f". Attempts raise a {policy.filtering.circumvention_alert.value} alert.",
        Evidence("docs/https-limits.md (circumvention by name)"),
    )


def _control(known: Facts) -> CheckItem:
    approved = FilterChange.objects.filter(status=FilterChange.Status.APPROVED).count()
    return _feature(
        "Control",
        MET,
        "The school allows or blocks sites itself, for a group or a person, through proposed "
        f"changes a second person approves; {approved} approved so far. The gateway reloads "
        "within a minute.",
        Evidence("Filter changes", reverse("filter-changes")),
        Evidence("Change-control log", reverse("filter-change-log")),
    )


def _contextual(known: Facts) -> CheckItem:
    https = known.policy.https.enabled
    return _feature(
        "Contextual content filters",
        PARTLY,
        "Search words are read in context (educational and help-seeking searches are told "
        "apart) on plain web pages"
        + (
            " and on the HTTPS sites the policy inspects"
            if https
            else "; HTTPS inspection is off in the policy, so only host names are seen there"
        )
        + ". Page content itself is not analysed.",
        Evidence("docs/text-detection.md; docs/https-limits.md"),
    )


def _policy(known: Facts) -> CheckItem:
    return _feature(
        "Filtering policy",
        MET,
        "The rules are the school's policy file: every rule quotes the policy it comes from and "
        "every decision explains itself in one sentence; the lists used and how they map are "
        "published.",
        Evidence("Why is this blocked?", reverse("console-tester")),
        Evidence("docs/lists.md; docs/policy-choices.md"),
    )


def _multi_site(known: Facts) -> CheckItem:
    return _feature(
        "Group / multi-site management",
        PARTLY,
        "Groups and sites (address ranges) are managed centrally for one school; a trust runs "
        "one Schoolgate per school (they may share a PostgreSQL event store) — there is no "
        "single console across schools.",
        Evidence("Devices and groups", reverse("console-devices")),
    )


def _identification(known: Facts) -> CheckItem:
    devices = Device.objects.count()
    return _feature(
        "Identification",
        MET,
        "Every decision records the device address and, where known, the user and group "
        f"(proxy sign-in, log-on hooks, or the {devices} device(s) registered here).",
        Evidence("Query log", reverse("console-query-log")),
        Evidence("Devices and groups", reverse("console-devices")),
    )


def _mobile(known: Facts) -> CheckItem:
    return _feature(
        "Mobile and app content",
        PARTLY,
        "Apps on the school network are filtered by the host names they use (DNS and proxy), "
        "like browsers; app content inside encrypted connections is not seen, and mobile data "
        "(4G/5G) does not pass through the school at all.",
        Evidence("docs/https-limits.md"),
    )


def _languages(known: Facts) -> CheckItem:
    return _feature(
        "Multiple language support",
        PARTLY,
        "Site lists work for sites in any language; search-word libraries and the text model "
        "are English.",
        Evidence("docs/text-detection.md"),
    )


def _network(known: Facts) -> CheckItem:
    return _feature(
        "Network level",
        MET if known.snapshot_file else PARTLY,
        "Filtering happens in the school's gateway (DNS resolver, web proxy, Squid helper), not "
        "on each device"
        + (
            "."
            if known.snapshot_file
            else "; no compiled snapshot was found beside this application, so check the gateway "
            "is running."
        ),
        Evidence("Gateway health", reverse("console-dashboard")),
    )


def _remote(known: Facts) -> CheckItem:
    return _feature(
        "Remote devices",
        GAP,
        "Only traffic through the school's gateway is filtered: a school device used at home is "
        "not, unless it is set to use the school's proxy from outside (not provided).",
        Evidence("docs/https-limits.md"),
    )


def _reporting_mechanism(known: Facts) -> CheckItem:
    requests = UnblockRequest.objects.count()
    return _feature(
        "Reporting mechanism",
        MET,
        "The block page lets anyone ask for a site to be unblocked or report a site that "
        f"should be blocked; {requests} request(s) received, each answered to the requester.",
        Evidence("Unblock requests", reverse("console-requests")),
    )


def _reports(known: Facts) -> CheckItem:
    return _feature(
        "Reports",
        MET,
        "Who visited or tried what and when (query log, kept "
        f"{known.policy.monitoring.retention_days} days), the dashboard, and the governors' "
        "termly report with blocks by category and group.",
        Evidence("Query log", reverse("console-query-log")),
        Evidence("Governors' termly report", reverse("governor-report")),
    )


def _safe_search(known: Facts) -> CheckItem:
    policy = known.policy
    groups = policy.safe_search.groups
    off = [
        g.title
        for g in _pupil_groups(policy)
        if not g.safe_search or (ALL_GROUPS not in groups and g.id not in groups)
    ]
    return _feature(
        "Safe search",
        PARTLY if off else MET,
        "Google, Bing, DuckDuckGo and YouTube (" + policy.safe_search.youtube + ") answered "
        "with their safe-search hosts"
        + (f"; not for {', '.join(off)}." if off else " for every pupil group."),
        _section(policy.safe_search.source),
        Evidence("docs/https-limits.md (safe search by DNS)"),
    )


FILTERING_FEATURES: tuple[Callable[[Facts], CheckItem], ...] = (
    _differentiated,
    _circumvention,
    _control,
    _contextual,
    _policy,
    _multi_site,
    _identification,
    _mobile,
    _languages,
    _network,
    _remote,
    _reporting_mechanism,
    _reports,
    _safe_search,
)


# Monitoring --------------------------------------------------------------------------------


def _monitor(title: str, status: str, shows: str, *evidence: Evidence | None) -> CheckItem:
    return CheckItem(
        "Monitoring",
        "Monitoring system features",
        title,
        status,
        shows,
        [e for e in evidence if e is not None],
    )


def _m_age(known: Facts) -> CheckItem:
    policy = known.policy
    narrowed = [k for k in policy.keyword_rules if ALL_GROUPS not in k.groups]
    return _monitor(
        "Age appropriate",
        MET if narrowed else PARTLY,
        f"{len(policy.keyword_rules)} search-word rules, {len(narrowed)} of them for particular "
        "groups; alerts name the pupil's group and year."
        if policy.keyword_rules
        else "The policy has no search-word rules; alerts come from blocked categories only.",
        Evidence("docs/monitoring.md"),
    )


def _m_alerts(known: Facts) -> CheckItem:
    routes = known.policy.alert_routes
    open_alerts = Alert.objects.filter(status__in=["new", "triaged"]).count()
    return _monitor(
        "Alert systems",
        MET if routes else PARTLY,
        f"{len(routes)} alert route(s) from the policy decide who is told at each level and "
        f"how fast, with escalation if nobody answers; {open_alerts} alert(s) open now."
        if routes
        else "Alerts reach the safeguarding leads' inbox; the policy names no alert routes.",
        _section(routes[0].source) if routes else None,
        Evidence("docs/monitoring.md (delivery and escalation)"),
    )


def _m_byod(known: Facts) -> CheckItem:
    return _monitor(
        "BYOD (bring your own device)",
        PARTLY,
        "Personal devices on the school network are monitored like school ones, by address; "
        "they are named only when registered here or when the user signs in to the proxy. "
        "Their mobile data is not seen.",
        Evidence("Devices and groups", reverse("console-devices")),
    )


def _m_retention(known: Facts) -> CheckItem:
    monitoring = known.policy.monitoring
    return _monitor(
        "Data retention",
        MET,
        f"Events are kept {monitoring.retention_days} days, then purged (the policy's "
        "monitoring.retention_days); alerts and cases are kept as safeguarding records.",
        _section(monitoring.source),
        Evidence("docs/events.md (purge)"),
    )


def _m_devices(known: Facts) -> CheckItem:
    return _monitor(
        "Devices",
        PARTLY,
        "Every device whose traffic passes through the gateway is monitored (web and search); "
        "there is no agent on devices, so typing in apps, offline use and other networks are not.",
        Evidence("docs/https-limits.md"),
    )


def _m_flexibility(known: Facts) -> CheckItem:
    return _monitor(
        "Flexibility",
        MET,
        "Search-word libraries take the school's own words, alert thresholds are set per theme "
        "in the policy, and false alarms lead to exclusions a second person approves.",
        Evidence("Alert exclusions", reverse("exclusion-list")),
    )


def _m_multi_site(known: Facts) -> CheckItem:
    item = _multi_site(known)
    return _monitor("Group / multi-site management", item.status, item.shows, *item.evidence)


def _m_policy(known: Facts) -> CheckItem:
    told = [
        a.title
        for a in known.policy.agreements
        if any("monitor" in statement.lower() for statement in a.statements)
    ]
    return _monitor(
        "Monitoring policy",
        MET if told else PARTLY,
        "What is monitored, who is told and how fast come from the school's policy file; "
        + (
            f"users are told they are monitored in: {', '.join(told)}."
            if told
            else "no acceptable use agreement in the policy tells users they are monitored."
        ),
        _section(known.policy.monitoring.source),
        Evidence("Agreements", reverse("agreement-register")),
    )


def _m_languages(known: Facts) -> CheckItem:
    item = _languages(known)
    return _monitor("Multiple language support", item.status, item.shows, *item.evidence)


def _m_priority(known: Facts) -> CheckItem:
    return _monitor(
        "Prioritisation",
        MET,
        "Alerts carry a level (low to critical) that decides who is told and how fast, and the "
        "DSL gives each a priority and a named person in the inbox.",
        Evidence("Alerts inbox", reverse("alert-inbox")),
    )


def _m_reporting(known: Facts) -> CheckItem:
    return _monitor(
        "Reporting",
        MET,
        "Each alert keeps the 30 minutes of activity before it; the governors' termly report "
        "counts alerts by theme and how fast they were triaged.",
        Evidence("Governors' termly report", reverse("governor-report")),
    )


MONITORING: tuple[Callable[[Facts], CheckItem], ...] = (
    _m_age,
    _m_alerts,
    _m_byod,
    _m_retention,
    _m_devices,
    _m_flexibility,
    _m_multi_site,
    _m_policy,
    _m_languages,
    _m_priority,
    _m_reporting,
)


def csv_rows(items: list[CheckItem]) -> list[list[str]]:
    return [
        [
            i.checklist,
            i.section,
            i.title,
            i.status,
            i.shows,
            "; ".join(e.label + (f" ({e.url})" if e.url else "") for e in i.evidence),
        ]
        for i in items
    ]
