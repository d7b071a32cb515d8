"""Alert rules over events, from the policy: what is worth telling someone, and how often.

Each decision event is read in order (pure: no clock, no I/O; times are the events' own):

1. **Illegal content** (a category the taxonomy marks illegal): theme `illegal-content`, the
   policy's `filtering.illegal_alert` (critical), told at once (STM-167, STM-173).
2. **Keyword hits** in search terms (the event's `keywords`, alert above `none`): the theme is
   the keyword library of the rule that fired (`self-harm`, `extremism`, …) (STM-040). A search
   the gateway refused before scanning it (agreement not signed, walled garden) is scanned here
   with the policy's keyword rules for the user's group: a child who has not signed the
   agreement and searches for how to end their life must still reach the DSL.
3. **Circumvention** (VPN, proxy, DoH categories): theme `circumvention`, at least the policy's
   `filtering.circumvention_alert` (STM-316, STM-325).
4. Any other event the policy rated (`alert` above `none`): theme = its first category.
5. **Repeated blocked attempts**: `monitoring.repeated_blocks` blocks by one user within
   `monitoring.repeated_blocks_minutes` raise `repeated-blocks`.

A filtering self-test probe (`extra.selftest`, `schoolgate selftest`) raises nothing: it asks
for illegal and harmful sites on purpose, to prove they are blocked.

De-duplication and throttling: one alert per subject (user, else device address) and theme
per `monitoring.dedupe_minutes` window from its first event; repeats raise its `count` and move
`last` without telling anyone again, unless the level rises. Each alert carries a context
bundle: the subject's searches and blocks in the 30 minutes up to its latest event.
Who is told and by when comes from `schoolgate.engine.alerting.routing` (routes, out-of-hours
call order, `within`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schoolgate.engine.alerting import Routing, routing
from schoolgate.engine.decide import excluded_only, quiet_terms
from schoolgate.engine.policy.schema import ALL_GROUPS, AlertLevel, Policy
from schoolgate.engine.taxonomy import CIRCUMVENTION_CATEGORIES, ILLEGAL_CATEGORIES
from schoolgate.engine.text.keywords import KeywordScanner
from schoolgate.events.schema import Event, format_time

CONTEXT_WINDOW = timedelta(minutes=30)
MAX_CONTEXT = 200
MAX_EVENTS_KEPT = 100


@dataclass
class Alert:
    key: str
    subject: str
    user: str | None
    address: str | None
    group: str | None
    theme: str
    level: AlertLevel
    first: datetime
    last: datetime
    routing: Routing
    count: int = 1
    category: str | None = None
    target: str | None = None
    reason: str | None = None
    events: list[Event] = field(default_factory=list)
    context: list[Event] = field(default_factory=list)

    @property
    def notify(self) -> list[str]:
        return list(self.routing.roles)

    def to_json(self) -> dict[str, Any]:
        """The replay command's line (and the webhook's body)."""
        return {
            "key": self.key,
            "user": self.user,
            "address": self.address,
            "group": self.group,
            "theme": self.theme,
            "alert": self.level.value,
            "count": self.count,
            "first": format_time(self.first),
            "last": format_time(self.last),
            "notify": self.notify,
            "out_of_hours": self.routing.out_of_hours,
            "within": self.routing.within,
            "deadline": format_time(self.routing.deadline) if self.routing.deadline else None,
            "events": [e.to_record() for e in self.events],
            "context": [e.to_record() for e in self.context],
        }

    def app_payload(self) -> dict[str, Any]:
        """The body of `POST /api/alerts/` (the staff app upserts on user and theme)."""
        body: dict[str, Any] = {
            "id": self.key,
            "theme": self.theme,
            "level": self.level.value,
            "count": self.count,
            "first": format_time(self.first),
            "last": format_time(self.last),
            "notify": self.notify,
            "context": {
                "window_minutes": int(CONTEXT_WINDOW.total_seconds() // 60),
                "events": [e.to_record() for e in self.context],
            },
        }
        optional = {
            "user": self.user,
            "address": self.address,
            "group": self.group,
            "category": self.category,
            "target": (self.target or "")[:2000] or None,
            "reason": (self.reason or "")[:2000] or None,
        }
        body.update({k: v for k, v in optional.items() if v})
        return body


@dataclass(frozen=True, slots=True)
class Change:
    alert: Alert
    tell: bool
    """True when people must be told now (a new alert, or its level rose)."""


class AlertRules:
    """Feeds events through the policy's alert rules; keeps only what de-duplication needs."""

    def __init__(self, policy: Policy, clock: Callable[[], datetime] | None = None) -> None:
        self.clock = clock
        """When given, routing (out of hours or not) is decided at the clock's time, the
        moment the monitor handles the alert; otherwise at the event's own time (replay)."""
        self.policy_changed(policy)
        self._open: dict[tuple[str, str], Alert] = {}
        self._recent: dict[str, deque[Event]] = {}
        self._blocks: dict[str, deque[datetime]] = {}
        self.alerts: list[Alert] = []
        """Every alert raised, in order (the replay command prints them)."""

    def policy_changed(self, policy: Policy) -> None:
        """Apply a recompiled policy from the next event on. What de-duplication and the context
        bundle remember (open alerts, recent events, blocks) is kept: an alert already raised
        is not raised again because its policy was recompiled."""
        self.policy = policy
        self.window = timedelta(minutes=policy.monitoring.dedupe_minutes)
        self._libraries = {rule.id: rule.library for rule in policy.keyword_rules}
        self._scanners: dict[tuple[str, tuple[str, ...]], KeywordScanner] = {}
        self._quiet_terms = quiet_terms(policy)

    def feed(self, event: Event) -> list[Change]:
        if event.kind != "decision" or event.extra.get("selftest"):
            return []  # a self-test probe (`schoolgate selftest`) is evidence, not a concern
        subject = event.user or (f"address:{event.address}" if event.address else "unknown")
        self._remember(subject, event)
        changes = []
        for theme, level in self._themes(subject, event):
            changes.append(self._raise(subject, theme, level, event))
        return changes

    # Which rules an event meets -----------------------------------------------------------------

    def _themes(self, subject: str, event: Event) -> list[tuple[str, AlertLevel]]:
        level = AlertLevel(event.alert)
        categories = set(event.categories)
        found: list[tuple[str, AlertLevel]] = []
        if categories & ILLEGAL_CATEGORIES:
            illegal = self.policy.filtering.illegal_alert
            found.append(("illegal-content", AlertLevel.highest(illegal, level)))
        elif event.keywords and level is not AlertLevel.NONE:
            found.append((self._libraries.get(event.rule or "", "search-terms"), level))
        elif event.search and not event.keywords and (hit := self._scan(event)) is not None:
            found.append(hit)
        elif categories & CIRCUMVENTION_CATEGORIES:
            floor = self.policy.filtering.circumvention_alert
            raised = AlertLevel.highest(floor, level)
            if raised is not AlertLevel.NONE:
                found.append(("circumvention", raised))
        elif level is not AlertLevel.NONE:
            found.append(
                (event.categories[0] if event.categories else event.rule or "alert", level)
            )
        if event.action == "block" and self._repeated_blocks(subject, event.at):
            found.append(("repeated-blocks", self.policy.monitoring.repeated_blocks_level))
        return found

    def _scan(self, event: Event) -> tuple[str, AlertLevel] | None:
        """The policy's keyword rules over a search the gateway did not scan."""
        best: tuple[str, AlertLevel] | None = None
        for rule in self.policy.keyword_rules:
            if ALL_GROUPS not in rule.groups and event.group not in rule.groups:
                continue
            key = (rule.library, tuple(rule.extra_terms))
            if key not in self._scanners:
                self._scanners[key] = KeywordScanner.from_libraries({key[0]: list(key[1])})
            result = self._scanners[key].scan(event.search or "")
            if not result.hits or result.alert is AlertLevel.NONE:
                continue
            if excluded_only([hit.term for hit in result.hits], self._quiet_terms):
                continue  # approved false-positive exclusions (issue 13)
            level = (
                AlertLevel.LOW
                if result.alert is AlertLevel.LOW
                else AlertLevel.highest(rule.alert, result.alert)
            )
            if best is None or level.rank > best[1].rank:
                best = (rule.library, level)
        return best

    def _repeated_blocks(self, subject: str, at: datetime) -> bool:
        monitoring = self.policy.monitoring
        blocks = self._blocks.setdefault(subject, deque())
        blocks.append(at)
        horizon = at - timedelta(minutes=monitoring.repeated_blocks_minutes)
        while blocks and blocks[0] < horizon:
            blocks.popleft()
        return len(blocks) >= monitoring.repeated_blocks

    # De-duplication and throttling ----------------------------------------------------------------

    def _raise(self, subject: str, theme: str, level: AlertLevel, event: Event) -> Change:
        alert = self._open.get((subject, theme))
        if alert is not None and event.at < alert.first + self.window:
            alert.count += 1
            alert.last = max(alert.last, event.at)
            if len(alert.events) < MAX_EVENTS_KEPT:
                alert.events.append(event)
            alert.context = self._context(subject, alert.last)
            alert.address = event.address or alert.address
            if level.rank > alert.level.rank:
                alert.level = level
                alert.routing = routing(self.policy, level, self._moment(event))
                return Change(alert, tell=True)
            return Change(alert, tell=False)
        alert = Alert(
            key=f"{subject}|{theme}|{format_time(event.at)}",
            subject=subject,
            user=event.user,
            address=event.address,
            group=event.group,
            theme=theme,
            level=level,
            first=event.at,
            last=event.at,
            routing=routing(self.policy, level, self._moment(event)),
            category=event.categories[0] if event.categories else None,
            target=event.target,
            reason=event.reason,
            events=[event],
            context=self._context(subject, event.at),
        )
        self._open[(subject, theme)] = alert
        self.alerts.append(alert)
        return Change(alert, tell=True)

    def _moment(self, event: Event) -> datetime:
        return self.clock() if self.clock is not None else event.at

    # The context bundle -------------------------------------------------------------------------

    def _remember(self, subject: str, event: Event) -> None:
        if not (event.search or event.action == "block" or event.alert != "none"):
            return
        recent = self._recent.setdefault(subject, deque(maxlen=MAX_CONTEXT))
        recent.append(event)
        while recent and recent[0].at < event.at - CONTEXT_WINDOW:
            recent.popleft()

    def _context(self, subject: str, until: datetime) -> list[Event]:
        since = until - CONTEXT_WINDOW
        return [e for e in self._recent.get(subject, ()) if since <= e.at <= until]
