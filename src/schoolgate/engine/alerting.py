"""Who is told of an alert, how soon, from the policy: routes, staffed hours, call order.

Pure functions of the policy and a moment (no clock): the monitor passes the event's time.

- The route for an alert level is the highest `alert_routes` entry at or below it (the same
  reading as `Decider._notify`); its `notify` roles are told, its `within` is the deadline.
- Outside staffed hours (`monitoring.staffed_*`, the school's time zone) an alert at
  `monitoring.out_of_hours_level` or above goes to `monitoring.out_of_hours` instead, in call
  order: the first contact at once, the next if that delivery fails or misses the deadline
  (who is told at 22:00 on a Saturday; issue 8, STM-007, DfE standard 4 "picked up urgently").
- `within`: "immediately" (15 minutes to get it delivered), "same school day" (by the end of
  staffed hours; out of hours: by the end of the next staffed day), or "N minutes" / "N hours".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from schoolgate.engine.policy.schema import AlertLevel, AlertRoute, Contact, Policy

IMMEDIATELY = timedelta(minutes=15)
_DURATION = re.compile(r"^\s*(\d+)\s*(minutes?|mins?|hours?|hrs?)\s*$", re.IGNORECASE)
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def within_is_known(within: str) -> bool:
    text = within.strip().lower()
    return text in {"immediately", "same school day"} or bool(_DURATION.match(text))


@dataclass(frozen=True, slots=True)
class Recipient:
    role: str
    title: str
    name: str | None
    email: str | None
    order: int
    """Position in the call order (0 = told at once); route contacts are all 0."""


@dataclass(frozen=True, slots=True)
class Routing:
    recipients: tuple[Recipient, ...]
    within: str | None
    deadline: datetime | None
    out_of_hours: bool

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(r.role for r in self.recipients)

    def told_at_once(self) -> tuple[Recipient, ...]:
        return tuple(r for r in self.recipients if r.order == 0)

    def next_after(self, order: int) -> Recipient | None:
        later = [r for r in self.recipients if r.order > order]
        return min(later, key=lambda r: r.order) if later else None


def route_for(policy: Policy, level: AlertLevel) -> AlertRoute | None:
    found = None
    for route in sorted(policy.alert_routes, key=lambda r: r.level.rank):
        if route.level.rank <= level.rank:
            found = route
    return found


def is_staffed(policy: Policy, moment: datetime) -> bool:
    local = moment.astimezone(ZoneInfo(policy.school.timezone))
    monitoring = policy.monitoring
    day = _WEEKDAYS[local.weekday()]
    return (
        day in monitoring.staffed_days
        and monitoring.staffed_from <= local.time() < monitoring.staffed_until
    )


def routing(policy: Policy, level: AlertLevel, moment: datetime) -> Routing:
    """Who is told of an alert at `level` raised at `moment`, and by when."""
    route = route_for(policy, level)
    within = route.within if route else None
    contacts = {c.role: c for c in policy.contacts}
    monitoring = policy.monitoring
    out_of_hours = (
        bool(monitoring.out_of_hours)
        and level.rank >= monitoring.out_of_hours_level.rank
        and not is_staffed(policy, moment)
    )
    if out_of_hours:
        recipients = tuple(
            _recipient(contacts, role, order) for order, role in enumerate(monitoring.out_of_hours)
        )
    else:
        roles = route.notify if route else []
        recipients = tuple(_recipient(contacts, role, 0) for role in roles)
    return Routing(recipients, within, deadline(policy, within, moment), out_of_hours)


def _recipient(contacts: dict[str, Contact], role: str, order: int) -> Recipient:
    contact = contacts.get(role)
    return Recipient(
        role=role,
        title=contact.title if contact else role,
        name=contact.name if contact else None,
        email=contact.email if contact else None,
        order=order,
    )


def deadline(policy: Policy, within: str | None, moment: datetime) -> datetime | None:
    """When an alert raised at `moment` must have reached its recipients."""
    if within is None:
        return None
    text = within.strip().lower()
    if text == "immediately":
        return moment + IMMEDIATELY
    if text == "same school day":
        return _end_of_staffed_day(policy, moment)
    match = _DURATION.match(text)
    if match is None:
        return moment + IMMEDIATELY  # unreadable deadlines are refused by the policy checks
    amount = int(match.group(1))
    unit = match.group(2).lower()
    return moment + (timedelta(hours=amount) if unit.startswith("h") else timedelta(minutes=amount))


def _end_of_staffed_day(policy: Policy, moment: datetime) -> datetime:
    zone = ZoneInfo(policy.school.timezone)
    local = moment.astimezone(zone)
    monitoring = policy.monitoring
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        if _WEEKDAYS[day.weekday()] not in monitoring.staffed_days:
            continue
        end = datetime.combine(day, monitoring.staffed_until, zone)
        if end > local:
            return end.astimezone(moment.tzinfo)
    return moment + timedelta(days=1)
