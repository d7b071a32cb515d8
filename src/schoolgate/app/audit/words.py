"""Timeline entries in plain words: "Triaged: Pupil incidents: Using proxy sites… — status
Investigating", not `case.triage`.

A case's and a concern's timeline is its audit entries (app/audit/trail.py); this module only
words them. An action it does not know is shown with its code, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Detail = dict[str, Any]


def _incident(key: str) -> str:
    from schoolgate.app.policy import find_incident

    choice = find_incident(key) if key else None
    return choice.label if choice else (key or "not yet decided")


def _concern_category(category_id: str) -> str:
    from schoolgate.app.policy import find_concern_category

    category = find_concern_category(category_id) if category_id else None
    return category.title if category else category_id


def _status(value: str) -> str:
    from schoolgate.app.cases.models import Status
    from schoolgate.app.concerns.models import ConcernStatus

    for choices in (Status, ConcernStatus):
        if value in choices.values:
            return str(choices(value).label)
    return value


def _alert_ref(d: Detail) -> str:
    alert = d.get("alert")
    return f"A-{alert:06d}" if isinstance(alert, int) else str(alert or "")


def _day(iso: object) -> str:
    from datetime import date

    try:
        return f"{date.fromisoformat(str(iso)):%d/%m/%Y}"
    except ValueError:
        return str(iso)


def _with(text: str, extra: str) -> str:
    return f"{text}: {extra}" if extra else text


def _triage(d: Detail) -> str:
    incident, status = _incident(d.get("incident_type", "")), _status(d.get("status", ""))
    text = f"Triaged as {incident}; status {status}"
    return _with(text, d.get("note", ""))


def _action_titles(ids: list[str]) -> str:
    from schoolgate.app.policy import current_policy

    titles = {a.id: a.title for m in current_policy().sanctions for a in m.actions}
    return ", ".join(titles.get(i, i) for i in ids)


def _actions(d: Detail) -> str:
    added, dropped = d.get("added", []), d.get("dropped", [])
    changes = [f"added {_action_titles(added)}" if added else ""]
    changes.append(f"left out {_action_titles(dropped)}" if dropped else "")
    said = "; ".join(c for c in changes if c) or "as the policy suggests"
    return f"Applied {_action_titles(d.get('chosen', []))} ({said}). Reason: {d.get('reason', '')}"


def _review(d: Detail) -> str:
    return (
        f"Recorded the two-person review with {d.get('first', '?')} as first reviewer; "
        f"waiting for {d.get('second', '?')} to confirm in their own session"
    )


def _concern_update(d: Detail) -> str:
    parts = []
    for name, label in (("category", "category"), ("status", "status"), ("priority", "priority")):
        if name in d.get("changed", {}):
            before, after = d["changed"][name]
            if name == "category":
                before, after = _concern_category(before), _concern_category(after)
            elif name == "status":
                before, after = _status(before), _status(after)
            else:
                before, after = before.title(), after.title()
            parts.append(f"{label} {before} → {after}")
    if "assigned_to" in d.get("changed", {}):
        parts.append(f"assigned to {d['changed']['assigned_to'][1] or 'nobody'}")
    return _with("Updated " + ("; ".join(parts) or "nothing"), d.get("reason", ""))


_WORDS: dict[str, Callable[[Detail], str]] = {
    "case.report": lambda d: "Reported",
    "case.triage": _triage,
    "case.actions": _actions,
    "case.review": _review,
    "case.review-confirm": lambda d: (
        f"{d.get('second', 'The second reviewer')} confirmed the "
        "two-person review in their own session"
    ),
    "case.review-view": lambda d: "Opened the review to confirm it",
    "case.review-confirm-refused": lambda d: (
        "Tried to confirm a review naming someone else (refused)"
    ),
    "case.view-refused": lambda d: "Tried to open this case without access (refused)",
    "case.parent-informed": lambda d: (
        f"Informed {d.get('parent', 'a parent / carer')} ({d.get('method', '')})"
    ),
    "case.handed-over": lambda d: _with("Closed: not an ICT incident", d.get("outcome", "")),
    "case.note": lambda d: _with("Note", d.get("text", "")),
    "case.close": lambda d: _with("Closed", d.get("outcome", "")),
    "evidence.add": lambda d: f"Added evidence {d.get('filename', '')}",
    "evidence.refused": lambda d: "Upload refused: suspected illegal content is never stored",
    "evidence.released": lambda d: "Downloaded evidence (SHA-256 checked)",
    "evidence.integrity-failure": lambda d: "Evidence no longer matched its SHA-256",
    "concern.report": lambda d: f"Raised as {_concern_category(d.get('category', ''))}",
    "concern.from-alert": lambda d: (
        f"Opened from monitoring alert {_alert_ref(d)} as "
        f"{_concern_category(d.get('category', ''))}"
    ),
    "concern.from-case": lambda d: _with(
        f"Moved here from ICT case {d.get('case', '')}", d.get("reason", "")
    ),
    "concern.update": _concern_update,
    "concern.task": lambda d: (
        f"Task for {d.get('assigned_to', '?')} by {_day(d.get('due'))}: {d.get('title', '')}"
    ),
    "concern.task-done": lambda d: f"Task done: {d.get('title', '')}",
    "concern.referral": lambda d: _with(f"Referred to {d.get('service', '')}", d.get("note", "")),
    "concern.note": lambda d: _with("Note", d.get("text", "")),
    "concern.close": lambda d: _with("Closed", d.get("outcome", "")),
    "concern.alert-attached": lambda d: f"Monitoring alert {_alert_ref(d)} attached",
    "alert.triage": lambda d: _with(
        "Triaged as a true positive"
        if d.get("verdict") == "true-positive"
        else "Triaged as a false positive",
        d.get("reason", ""),
    ),
    "concern.view-refused": lambda d: "Tried to open this concern without access (refused)",
}


def describe(action: str, detail: Detail) -> str:
    """The entry in words; an unknown action shows its code, so nothing is hidden."""
    words = _WORDS.get(action)
    if words is None:
        return action
    try:
        return words(detail or {})
    except (KeyError, TypeError, ValueError):
        return action


_VIEWS = ("view", "view-refused", "review-view")  # looking is audited, not a step taken


def timeline(object_type: str, pk: int) -> list[tuple[Any, str, str]]:
    """(when, who, what in words) for a case's or concern's audit entries, views left out."""
    from schoolgate.app.audit.models import AuditEntry

    entries = (
        AuditEntry.objects.filter(object_type=object_type, object_id=str(pk))
        .exclude(action__in=[f"{object_type}.{view}" for view in _VIEWS])
        .only("at", "actor_name", "action", "detail")
        .order_by("id")
    )
    return [(e.at, who(e.actor_name), describe(e.action, e.detail)) for e in entries]


def who(actor_name: str) -> str:
    """ "Dana Lead (dana-lead)" → "Dana Lead"; "system" → "Schoolgate"."""
    return "Schoolgate" if actor_name == "system" else actor_name.rsplit(" (", 1)[0]
