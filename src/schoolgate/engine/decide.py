"""The decision: what happens when a given person visits a given address at a given moment.

`Decider` is built once per snapshot: it turns the policy into per-group plans (which site lists,
which rules for each category bit) so that a decision is a handful of dictionary lookups. The order
of evaluation is documented in `docs/decisions.md`; in short:

1. illegal categories are blocked for everyone, always, and alert `critical`;
2. the support services the policy names are always reachable;
3. a group that must sign an acceptable-use agreement gets nothing until it has;
4. the policy's site lists (first that applies wins), then the walled garden;
5. search terms scanned against the keyword libraries, the intent grammar and the text model
   (per-theme thresholds from the policy's `text_thresholds`); a search that asks for help is
   recorded and never blocked, and concern for someone else's safety is routed to the DSL;
6. the access rules for each category of the target (the most severe action wins);
7. otherwise the policy's default action.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

from schoolgate.engine.policy.schema import (
    ALL_GROUPS,
    AccessRule,
    Action,
    AlertLevel,
    Group,
    KeywordRule,
    Period,
    Policy,
    SiteList,
    Source,
)
from schoolgate.engine.targets import Target, parse_target
from schoolgate.engine.taxonomy import CIRCUMVENTION_CATEGORIES, ILLEGAL_CATEGORIES
from schoolgate.engine.text.keywords import KeywordScanner
from schoolgate.engine.text.model import default_thresholds
from schoolgate.engine.text.search import extract_search

if TYPE_CHECKING:
    from schoolgate.engine.snapshot import Snapshot

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SHAPES_KEPT = 4096
_NEVER = object()


@dataclass(frozen=True, slots=True)
class Subject:
    """Who is asking. `group=None` means the gateway could not tell."""

    group: str | None = None
    user: str | None = None
    agreement: bool = True
    """Whether the user has signed the acceptable-use agreement their group needs."""
    nominated: bool = False
    """Whether the user is one the policy names for `nominated_only` exceptions."""


class Decision(NamedTuple):
    """What the gateway does with one request, and why. Immutable (decisions are cached and
    shared between requests); a NamedTuple because a decision is built per request and a frozen
    dataclass's constructor costs several times as much. Change one with `replace`."""

    action: Action
    categories: tuple[str, ...]
    rule: str | None
    reason: str
    alert: AlertLevel
    notify: tuple[str, ...]
    group: str
    target: str
    search: str | None = None
    source: Source | None = None
    keywords: tuple[str, ...] = ()

    def replace(self, **changes: Any) -> Decision:
        return self._replace(**changes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "categories": list(self.categories),
            "rule": self.rule,
            "reason": self.reason,
            "alert": self.alert.value,
            "notify": list(self.notify),
            "group": self.group,
            "target": self.target,
            "search": self.search,
            "keywords": list(self.keywords),
            "source": _source_dict(self.source) if self.source else None,
        }


_SOURCE_DICTS: dict[int, tuple[Source, dict[str, Any]]] = {}


def _source_dict(source: Source) -> dict[str, Any]:
    """`source.model_dump()`, built once per source object (a policy has a few dozen; keeping
    the object in the cache keeps its id from being reused). A shallow copy goes out."""
    cached = _SOURCE_DICTS.get(id(source))
    if cached is None or cached[0] is not source:
        if len(_SOURCE_DICTS) > 4096:
            _SOURCE_DICTS.clear()
        cached = _SOURCE_DICTS[id(source)] = (source, source.model_dump())
    return dict(cached[1])


@dataclass(slots=True)
class _Sites:
    """Host names (suffix match) and URL prefixes of a site list or support service."""

    hosts: frozenset[str]
    prefixes: dict[str, tuple[str, ...]]
    """host -> path prefixes; like host entries, a prefix covers the host's subdomains."""
    everything: bool = False
    """`*`: every site (an approved filter switch-off for some users)."""

    @classmethod
    def of(cls, entries: Iterable[str]) -> _Sites:
        hosts: set[str] = set()
        prefixes: dict[str, list[str]] = {}
        entries = list(entries)
        if "*" in entries:
            return cls(frozenset(), {}, everything=True)
        for entry in entries:
            target = parse_target(entry)
            if target.path == "/" and "/" not in entry.split("://", 1)[-1].rstrip("/"):
                hosts.add(target.host)
            else:
                prefixes.setdefault(target.host, []).append(target.path)
        return cls(frozenset(hosts), {h: tuple(p) for h, p in prefixes.items()})

    def match(self, target: Target, suffixes: list[str]) -> bool:
        if self.everything or not self.hosts.isdisjoint(suffixes):
            return True
        if self.prefixes:
            for suffix in suffixes:
                for prefix in self.prefixes.get(suffix, ()):
                    if target.path.startswith(prefix):
                        return True
        return False


@dataclass(slots=True)
class _GroupPlan:
    group: Group
    site_lists: list[tuple[SiteList, _Sites]]
    rules_by_bit: dict[int, list[AccessRule]]
    keyword_rules: list[KeywordRule]


@dataclass(slots=True)
class _Outcome:
    action: Action
    rule: str
    source: Source | None
    alert: AlertLevel = AlertLevel.NONE
    explanation: str = ""
    keywords: tuple[str, ...] = field(default=())
    concern: bool = False
    """Concern for someone else's safety: the DSL is told whatever the level (HG-099)."""
    help_seeking: bool = False
    """A search for help: recorded, never blocked (CAV-065)."""


class Decider:
    """Answers decisions for one compiled snapshot. The engine never reads the clock: every
    decision is for the `moment` its caller passes (the gateway reads its clock once per batch
    of requests), taken in the school's time zone."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.policy: Policy = snapshot.policy
        self.index = snapshot.index
        self.zone = ZoneInfo(self.policy.school.timezone)
        self._periods = {p.id: p for p in self.policy.periods}
        self._support = [(svc, _Sites.of(svc.sites)) for svc in self.policy.support_services]
        self._plans = {g.id: self._plan(g) for g in self.policy.groups}
        self._illegal_mask = self._mask_of(ILLEGAL_CATEGORIES)
        self._circumvention_mask = self._mask_of(CIRCUMVENTION_CATEGORIES)
        self._category_alerts = [
            (self._mask_of(a.categories), a) for a in self.policy.category_alerts
        ]
        self._routes = sorted(self.policy.alert_routes, key=lambda r: r.level.rank)
        self._thresholds = _text_thresholds(self.policy)
        self._notify_by_level = {level: self._notify(level) for level in AlertLevel}
        self._sorted_names: dict[int, tuple[str, ...]] = {}
        self._quotes: dict[tuple[str, str], str] = {}
        exclusions = self.policy.alert_exclusions
        quiet_sites = [e.value for e in exclusions if e.kind == "site"]
        self._quiet_sites = _Sites.of(quiet_sites) if quiet_sites else None
        """Sites whose own alerts a second person agreed were false positives (issue 13)."""
        self._quiet_terms = quiet_terms(self.policy)
        """Search terms that, alone, raise no alert (approved false-positive exclusions)."""
        every_sites = [sites for _, sites in self._support] + [
            sites for plan in self._plans.values() for _, sites in plan.site_lists
        ]
        if self._quiet_sites is not None:
            every_sites.append(self._quiet_sites)
        self._site_hosts = frozenset(
            host for sites in every_sites for host in (*sites.hosts, *sites.prefixes)
        )
        """Every host a support service, site list or alert exclusion names: a name none of
        whose suffixes is here is decided by its group, its categories and the minute alone
        (`_shapes`)."""
        self._some_site_lists_everything = any(sites.everything for sites in every_sites)
        self._minute_exact = all(
            _on_the_minute(p.start) and (p.end == time.max or _on_the_minute(p.end))
            for p in self.policy.periods
        )
        self._shapes: dict[tuple, tuple[Decision, str, str]] = {}
        self._shapes_minute: datetime | None = None
        self._last_moment: tuple[object, datetime, datetime] = (_NEVER, datetime.min, datetime.min)

    @cached_property
    def default_group(self) -> str:
        """The group for users the gateway cannot identify."""
        if self.policy.filtering.default_group:
            return self.policy.filtering.default_group
        pupils = [g for g in self.policy.groups if g.kind == "pupil"]
        return max(pupils, key=self._strictness).id

    def _strictness(self, group: Group) -> tuple[int, int]:
        blocks = sum(
            1
            for rule in self.policy.rules
            if rule.action is Action.BLOCK and _applies(rule.groups, group.id)
        )
        return (int(group.walled_garden), blocks)

    def _mask_of(self, categories: Iterable[str]) -> int:
        wanted = set(categories)
        return sum(1 << i for i, name in enumerate(self.index.categories) if name in wanted)

    def _plan(self, group: Group) -> _GroupPlan:
        policy = self.policy
        rules_by_bit: dict[int, list[AccessRule]] = {}
        for i, category in enumerate(self.index.categories):
            rules = [
                r for r in policy.rules if category in r.categories and _applies(r.groups, group.id)
            ]
            if rules:
                rules_by_bit[1 << i] = rules
        site_lists = [(s, _Sites.of(s.sites)) for s in policy.sites if _applies(s.groups, group.id)]
        keyword_rules = [k for k in policy.keyword_rules if _applies(k.groups, group.id)]
        return _GroupPlan(
            group=group,
            site_lists=site_lists,
            rules_by_bit=rules_by_bit,
            keyword_rules=keyword_rules,
        )

    def hosts_not_plain(self) -> frozenset[str] | None:
        """The hosts (and their sub-domains) whose names are not plain: named by a support
        service, site list or alert exclusion. A plain name's decision is the one its group,
        agreement, nomination and categories get this minute (`_shaped`), whatever the name;
        the DNS fast lane (issue 9) answers such names without asking again. None when no name
        is plain: a site list names everything, or a period starts off the minute."""
        if self._some_site_lists_everything or not self._minute_exact:
            return None
        return self._site_hosts

    def is_plain(self, target: Target) -> bool:
        """Whether `decide` gives `target` the shared decision for its categories (`_shaped`)."""
        hosts = self.hosts_not_plain()
        return (
            hosts is not None
            and extract_search(target) is None
            and hosts.isdisjoint(target.suffixes())
        )

    def local_time(self, moment: datetime) -> datetime:
        """`moment` as the school's wall-clock time (naive); a naive `moment` already is."""
        if moment.tzinfo is not None:
            return moment.astimezone(self.zone).replace(tzinfo=None)
        return moment

    def decide(self, subject: Subject, target: str | Target, moment: datetime) -> Decision:
        """The decision for `subject` asking for `target` at `moment` (aware, or naive in the
        school's local time)."""
        if isinstance(target, str):
            target = parse_target(target)
        group_id = subject.group or self.default_group
        plan = self._plans.get(group_id)
        if plan is None:
            raise UnknownGroupError(group_id, sorted(self._plans))
        last = self._last_moment  # callers deciding a batch pass one moment for all of it
        if last[0] is moment:
            when, minute = last[1], last[2]
        else:
            when = self.local_time(moment)
            minute = when.replace(second=0, microsecond=0) if self._minute_exact else when
            self._last_moment = (moment, when, minute)
        mask = self.index.mask_for(target)
        suffixes = target.suffixes()
        search = extract_search(target)
        if (
            search is None
            and self._site_hosts.isdisjoint(suffixes)
            and not self._some_site_lists_everything
        ):
            return self._shaped(plan, subject, target, suffixes, mask, when, minute)
        outcome = self._outcome(plan, subject, target, suffixes, mask, when, search)
        return self._decision(plan, target, mask, outcome, search.query if search else None)

    def _shaped(
        self,
        plan: _GroupPlan,
        subject: Subject,
        target: Target,
        suffixes: list[str],
        mask: int,
        when: datetime,
        minute: datetime,
    ) -> Decision:
        """A name no site list or support service names, and no search: its decision is the
        same for every such name with the same categories, for the same group, agreement,
        nomination and minute, but for the name in `target` and `reason`. The rest is kept per
        minute (periods start and end on the minute; otherwise per moment)."""
        if minute != self._shapes_minute or len(self._shapes) > _SHAPES_KEPT:
            self._shapes, self._shapes_minute = {}, minute
        key = (plan.group.id, subject.agreement, subject.nominated, mask)
        shape = self._shapes.get(key)
        if shape is None:
            outcome = self._outcome(plan, subject, target, suffixes, mask, when, None)
            decision = self._decision(plan, target, mask, outcome, None)
            head = f"{_HEADINGS[outcome.action]}: "
            tail = decision.reason[len(head) + len(target.host) :]
            shape = self._shapes[key] = (decision, head, tail)
        decision, head, tail = shape
        return decision._replace(reason=head + target.host + tail, target=target.url)

    def _outcome(
        self,
        plan: _GroupPlan,
        subject: Subject,
        target: Target,
        suffixes: list[str],
        mask: int,
        when: datetime,
        search: Any,
    ) -> _Outcome:
        policy = self.policy
        if mask & self._illegal_mask:
            return _Outcome(
                Action.BLOCK,
                "illegal-content",
                _ILLEGAL_SOURCE,
                policy.filtering.illegal_alert,
                "it is in a category that is illegal to access in the UK",
            )
        for service, sites in self._support:
            if sites.match(target, suffixes):
                return _Outcome(
                    Action.ALLOW,
                    "support-services",
                    service.source
                    or Source(
                        section="Support services", quote=f"{service.name} must always be reachable"
                    ),
                    explanation="it is a help service that must always be reachable",
                )
        keyword = self._keyword_outcome(plan, search) if search else None
        if plan.group.agreement_required and not subject.agreement:
            return _noting_search(
                _Outcome(
                    Action.BLOCK,
                    "agreement-required",
                    self._agreement_source(plan.group),
                    explanation="the acceptable-use agreement has not been signed yet",
                ),
                keyword,
            )
        for site_list, sites in plan.site_lists:
            if site_list.until is not None and when >= site_list.until:
                continue  # a time-limited change that has expired (STM-320)
            if site_list.users and subject.user not in site_list.users:
                continue
            if self._in_periods(site_list.periods, when) and sites.match(target, suffixes):
                return _noting_search(
                    _Outcome(
                        site_list.action,
                        site_list.id,
                        site_list.source,
                        site_list.alert,
                        f"it is on the list “{site_list.title}”",
                    ),
                    keyword,
                )
        if plan.group.walled_garden:
            return _noting_search(
                _Outcome(
                    Action.BLOCK,
                    "walled-garden",
                    plan.group.source,
                    explanation=f"{plan.group.title} may only use sites the school has approved",
                ),
                keyword,
            )
        if (
            keyword is not None
            and (keyword.help_seeking or keyword.concern)
            and (keyword.action is Action.ALLOW)
        ):
            return keyword  # help and concern are recorded and never blocked
        category = self._category_outcome(plan, subject, mask, when) if mask else None
        if keyword is None and category is None:
            return self._default_outcome
        candidates = [o for o in (keyword, category) if o is not None]
        best = max(candidates, key=lambda o: (o.action.severity, o.alert.rank))
        best.alert = AlertLevel.highest(*(o.alert for o in candidates))
        if keyword is not None and best is not keyword:
            best.keywords = keyword.keywords
        return best

    @cached_property
    def _default_outcome(self) -> _Outcome:
        """Shared by every decision no rule covers (outcomes are only changed while choosing
        between a keyword and a category outcome, never this one)."""
        filtering = self.policy.filtering
        return _Outcome(
            filtering.default_action,
            "default",
            filtering.source,
            explanation="no rule of the policy covers it",
        )

    def _keyword_outcome(self, plan: _GroupPlan, search: Any) -> _Outcome | None:
        found: _Outcome | None = None
        concern: KeywordRule | None = None
        help_seeking: KeywordRule | None = None
        for rule in plan.keyword_rules:
            thresholds = self._thresholds.get(rule.library, ())
            result = _scanner(rule.library, tuple(rule.extra_terms), thresholds).scan(search.query)
            if result.concern and (concern is None or rule.library == "self-harm"):
                concern = rule
            if (
                result.help_seeking
                and (result.suppressed or result.helpline)
                and help_seeking is None
            ):
                help_seeking = rule
            if not result.hits or result.alert is AlertLevel.NONE:
                continue  # help-seeking searches and identity words on their own stay quiet
            if excluded_only([hit.term for hit in result.hits], self._quiet_terms):
                continue  # every term matched is an approved false-positive exclusion
            terms = tuple(sorted({hit.term for hit in result.hits}))
            if result.alert is AlertLevel.LOW:
                # A weak signal ("suicide squad", a swear word) is logged, never blocked or
                # escalated to the rule's level: over-flagging pupils is a harm of its own.
                action, alert = Action.ALLOW, AlertLevel.LOW
            else:
                action, alert = rule.action, AlertLevel.highest(rule.alert, result.alert)
            outcome = _Outcome(
                action,
                rule.id,
                rule.source,
                alert,
                f"the search “{search.query}” matches the {rule.library} keyword library",
                terms,
            )
            if found is None or (outcome.action.severity, alert.rank) > (
                found.action.severity,
                found.alert.rank,
            ):
                found = outcome
        if found is not None:
            found.concern = concern is not None
            return found
        if concern is not None:
            return _Outcome(
                Action.ALLOW,
                concern.id,
                concern.source,
                AlertLevel.LOW,
                f"the search “{search.query}” shows concern for someone else's safety",
                ("concern for someone else",),
                concern=True,
            )
        if help_seeking is not None:
            return _Outcome(
                Action.ALLOW,
                help_seeking.id,
                help_seeking.source,
                explanation=f"the search “{search.query}” asks for help",
                keywords=("help-seeking",),
                help_seeking=True,
            )
        return None

    def _category_outcome(
        self, plan: _GroupPlan, subject: Subject, mask: int, when: datetime
    ) -> _Outcome | None:
        found: _Outcome | None = None
        remaining = mask
        while remaining:
            bit = remaining & -remaining
            remaining ^= bit
            for rule in plan.rules_by_bit.get(bit, ()):
                if rule.nominated_only and not subject.nominated:
                    continue
                if not self._in_periods(rule.periods, when):
                    continue
                if found is None or rule.action.severity > found.action.severity:
                    category = self.index.categories[bit.bit_length() - 1]
                    found = _Outcome(
                        rule.action,
                        rule.id,
                        rule.source,
                        rule.alert,
                        rule.reason or f"{category} is {_verb(rule.action)} for {plan.group.title}",
                    )
                break
        return found

    def _in_periods(self, period_ids: list[str], when: datetime) -> bool:
        if not period_ids:
            return True
        for period_id in period_ids:
            outside = period_id.startswith("outside:")
            period = self._periods[period_id.removeprefix("outside:")]
            if _within(period, when) != outside:
                return True
        return False

    def _quiet_site(self, target: Target, mask: int) -> bool:
        """On an approved site exclusion; never for illegal content or circumvention."""
        if self._quiet_sites is None or mask & (self._illegal_mask | self._circumvention_mask):
            return False
        return self._quiet_sites.match(target, target.suffixes())

    def _decision(
        self,
        plan: _GroupPlan,
        target: Target,
        mask: int,
        outcome: _Outcome,
        search: str | None,
    ) -> Decision:
        alert = outcome.alert
        quiet = self._quiet_site(target, mask)
        if quiet and not outcome.keywords:
            alert = AlertLevel.NONE  # the site's own alert was agreed to be a false positive
        if mask:  # most addresses are in no list: nothing below applies to them
            for alert_mask, category_alert in self._category_alerts:
                if mask & alert_mask and not quiet:
                    alert = AlertLevel.highest(alert, category_alert.alert)
            if mask & self._circumvention_mask:
                alert = AlertLevel.highest(alert, self.policy.filtering.circumvention_alert)
        categories = self._sorted_names.get(mask)
        if categories is None:
            categories = self._sorted_names[mask] = tuple(sorted(self.index.names(mask)))
        return Decision(
            action=outcome.action,
            categories=categories,
            rule=outcome.rule,
            reason=self._reason(outcome, target),
            alert=alert,
            notify=(
                self._notify(alert, concern=True)
                if outcome.concern
                else self._notify_by_level[alert]
            ),
            group=plan.group.id,
            target=target.url,
            search=search,
            source=outcome.source,
            keywords=outcome.keywords,
        )

    def _reason(self, outcome: _Outcome, target: Target) -> str:
        """The one-sentence explanation; the policy quote part is built once per source."""
        sentence = f"{_HEADINGS[outcome.action]}: {target.host} because {outcome.explanation}"
        source = outcome.source
        if source is None:
            return sentence + "."
        key = (source.section, source.quote)  # str hashes are cached: a cheap key
        quote = self._quotes.get(key)
        if quote is None:
            quote = self._quotes[key] = _quoted(source)
        return sentence + quote

    def _notify(self, alert: AlertLevel, concern: bool = False) -> tuple[str, ...]:
        if alert is AlertLevel.NONE:
            return ()
        roles: tuple[str, ...] = ()
        for route in self._routes:
            if route.level.rank <= alert.rank:
                roles = tuple(route.notify)
        if concern and _DSL not in roles and _DSL in self.policy.contact_roles():
            roles = (*roles, _DSL)  # concern for someone else goes to the DSL (HG-099)
        return roles

    def _agreement_source(self, group: Group) -> Source | None:
        for agreement in self.policy.agreements:
            if agreement.id == group.agreement or _applies(agreement.groups, group.id):
                return agreement.source
        return group.source


def excluded_only(terms: list[str], excluded: frozenset[str]) -> bool:
    """Whether every keyword hit is an approved false-positive exclusion (casefolded terms);
    a text-model hit ("model 0.68: noose") is excluded when every word it names is."""
    if not excluded or not terms:
        return False
    for term in terms:
        term = term.casefold()
        if term.startswith("model ") and ": " in term:
            words = [w.strip(" …") for w in term.split(": ", 1)[1].split(",")]
            if not all(w in excluded for w in words if w):
                return False
        elif term not in excluded:
            return False
    return True


def quiet_terms(policy: Policy) -> frozenset[str]:
    """The policy's approved term exclusions, casefolded."""
    return frozenset(e.value.casefold() for e in policy.alert_exclusions if e.kind == "term")


def _noting_search(outcome: _Outcome, keyword: _Outcome | None) -> _Outcome:
    """A search decided by an earlier step (no agreement yet, a site list, the walled garden)
    still raises its alert: a young child's search for how to hurt themselves reaches the DSL
    even though the page itself was never going to open. `outcome` is always a fresh one."""
    if keyword is None or keyword.alert is AlertLevel.NONE:
        return outcome
    outcome.alert = AlertLevel.highest(outcome.alert, keyword.alert)
    outcome.keywords = keyword.keywords
    outcome.concern = outcome.concern or keyword.concern
    return outcome


class UnknownGroupError(LookupError):
    def __init__(self, group: str, known: list[str]):
        super().__init__(f"unknown group {group!r}; this policy has {', '.join(known)}")
        self.group = group


_ILLEGAL_SOURCE = Source(
    section="UK Safer Internet Centre: appropriate filtering",
    quote=(
        "Filtering providers should block access to illegal content including child sexual "
        "abuse material (IWF list) and unlawful terrorist content (CTIRU list)"
    ),
)


def decide(
    snapshot: Snapshot, subject: Subject, target: str | Target, moment: datetime
) -> Decision:
    """One-off decision; build a `Decider` instead when deciding more than once."""
    return Decider(snapshot).decide(subject, target, moment)


_DSL = "dsl"
_Thresholds = tuple[tuple[AlertLevel, float | None], ...]


def _text_thresholds(policy: Policy) -> dict[str, _Thresholds]:
    """Per text-model theme, the policy's thresholds, or the model's defaults."""
    merged: dict[str, Any] = dict(default_thresholds())
    for theme, thresholds in policy.text_thresholds.items():
        merged[theme] = thresholds.levels()
    return {theme: tuple(levels.items()) for theme, levels in merged.items()}


@lru_cache(maxsize=256)
def _scanner(library: str, extra_terms: tuple[str, ...], thresholds: _Thresholds) -> KeywordScanner:
    """Scanners are built on first use and shared by every group, rule and reloaded snapshot."""
    model = {library: dict(thresholds)} if thresholds else None
    return KeywordScanner.from_libraries({library: list(extra_terms)}, model)


def _applies(groups: list[str], group_id: str) -> bool:
    return group_id in groups or ALL_GROUPS in groups


def _on_the_minute(moment: time) -> bool:
    return moment.second == 0 and moment.microsecond == 0


def _within(period: Period, when: datetime) -> bool:
    return _WEEKDAYS[when.weekday()] in period.days and period.start <= when.time() < period.end


_VERBS = {Action.ALLOW: "allowed", Action.WARN: "allowed with a warning", Action.BLOCK: "blocked"}
_HEADINGS = {Action.ALLOW: "Allowed", Action.WARN: "Warning", Action.BLOCK: "Blocked"}


def _verb(action: Action) -> str:
    return _VERBS[action]


def _quoted(source: Source) -> str:
    quote = " ".join(source.quote.split()).rstrip(".")
    return f" (policy, {source.section}: “{quote}”)."
