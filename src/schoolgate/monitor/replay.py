"""Replay logs through the policy's decisions and alert rules, as the live monitor would.

Every log line becomes an event; `binding`/`signin` events (in JSON-lines logs) build the
address history first, so each line is attributed to whoever held its address at that moment;
lines are then taken in time order, decided under the policy exactly as the gateway decides
live traffic (`Decider.decide` at the line's own time), and fed to `AlertRules`.
Lines that were already decided (Schoolgate's own event records) keep their decision.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from schoolgate.engine.decide import Decider, Subject
from schoolgate.events.schema import Event
from schoolgate.monitor.attribution import AddressHistory
from schoolgate.monitor.logs import LogReport, read_log
from schoolgate.monitor.rules import Alert, AlertRules


@dataclass
class Replay:
    alerts: list[Alert]
    reports: list[LogReport]
    events: int


def decide_event(decider: Decider, event: Event, groups: frozenset[str] | None = None) -> Event:
    """The event with the policy's decision for its user, group, target and time."""
    if event.action is not None or not event.target:
        return event
    groups = groups if groups is not None else frozenset(g.id for g in decider.policy.groups)
    group = event.group if event.group in groups else None
    decision = decider.decide(Subject(group=group, user=event.user), event.target, event.at)
    return replace(
        event,
        group=decision.group,
        search=decision.search,
        action=decision.action.value,
        categories=tuple(decision.categories),
        rule=decision.rule,
        alert=decision.alert.value,
        notify=tuple(decision.notify),
        keywords=tuple(decision.keywords),
        reason=decision.reason,
    )


def replay_logs(
    decider: Decider,
    logs: Iterable[tuple[str, Path]],
    clock: Callable[[], datetime] | None = None,
) -> Replay:
    history = AddressHistory()
    reports: list[LogReport] = []
    pending: list[tuple[Event, LogReport]] = []
    for fmt, path in logs:
        report = LogReport(Path(path), fmt)
        reports.append(report)
        for event in read_log(fmt, Path(path), report):
            if not history.learn(event):
                pending.append((event, report))
    pending.sort(key=lambda item: item[0].at)
    rules = AlertRules(decider.policy, clock=clock)
    groups = frozenset(g.id for g in decider.policy.groups)
    for event, report in pending:
        try:
            decided = decide_event(decider, history.attribute(event), groups)
        except (ValueError, LookupError) as exc:
            report.parsed -= 1
            report.note_bad(int(event.extra.get("line", 0)), f"cannot decide: {exc}")
            continue
        rules.feed(decided)
    return Replay(rules.alerts, reports, len(pending))
