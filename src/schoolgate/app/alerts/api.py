"""POST /api/alerts/ with a `theme`: the monitor's alert, upserted idempotently.

One open alert, and one case, per subject (user, else device address) and theme. A repeat of
the same alert — a retry from the monitor's outbox, or the same theme firing again while the
alert is open — updates that alert: the count only grows, `first` only moves back, `last`
only forward, the level only rises, and the context bundle is the newest one. So deliveries
may arrive twice or out of order and the record stays right (issue 8: "an alert opens or
updates a case idempotently").

Body (JSON object; unknown fields are refused, each field is type- and length-checked):
theme (slug), level (low…critical), first, last (ISO 8601 with zone), user and/or address,
and optionally id, group, count (int ≥ 1), notify (list of role slugs), category, target,
reason, context ({"window_minutes": int, "events": [event records]}).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse

from schoolgate.app.alerts.models import OPEN_STATUSES, Alert
from schoolgate.app.audit.trail import record
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.people.models import User
from schoolgate.app.policy import incident_for_category
from schoolgate.app.roles import STAFF_ROLES
from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import ILLEGAL_CATEGORIES

_TEXT = {
    "id": 200,
    "theme": 64,
    "user": 150,
    "address": 64,
    "group": 64,
    "level": 16,
    "first": 40,
    "last": 40,
    "category": 64,
    "target": 2000,
    "reason": 2000,
}
_OTHER = {"count", "notify", "context"}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LEVELS = [lvl.value for lvl in AlertLevel if lvl is not AlertLevel.NONE]
MAX_CONTEXT_EVENTS = 500


class AlertError(ValueError):
    pass


def parse_themed_alert(data: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(_TEXT) - _OTHER)
    if unknown:
        raise AlertError(f"unknown fields {unknown}; known: {sorted(set(_TEXT) | _OTHER)}")
    for name, limit in _TEXT.items():
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise AlertError(f"field {name!r} must be a string")
        if len(value) > limit:
            raise AlertError(f"field {name!r} is longer than {limit} characters")
    if not _SLUG.match(data.get("theme", "")):
        raise AlertError("field 'theme' must be a slug like 'self-harm'")
    if data.get("level") not in _LEVELS:
        raise AlertError(f"field 'level' must be one of {_LEVELS}")
    if not (data.get("user") or data.get("address")):
        raise AlertError("give 'user' or 'address': whom the alert is about")
    for name in ("first", "last"):
        data[name] = _moment(data.get(name), name)
    if data["last"] < data["first"]:
        raise AlertError("field 'last' is before 'first'")
    count = data.get("count", 1)
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise AlertError("field 'count' must be a whole number of at least 1")
    data["count"] = count
    notify = data.get("notify", [])
    if not isinstance(notify, list) or not all(
        isinstance(r, str) and _SLUG.match(r) for r in notify
    ):
        raise AlertError("field 'notify' must be a list of role slugs")
    data["context"] = _context(data.get("context", {}))
    return data


def _moment(text: object, name: str) -> datetime:
    if not isinstance(text, str):
        raise AlertError(f"field {name!r} is required: an ISO 8601 date-time with a zone")
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AlertError(f"field {name!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise AlertError(f"field {name!r} has no time zone")
    return moment


def _context(value: object) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) - {"window_minutes", "events"}:
        raise AlertError("field 'context' must be {'window_minutes': int, 'events': [...]}")
    events = value.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise AlertError("field 'context.events' must be a list of event objects")
    if len(events) > MAX_CONTEXT_EVENTS:
        raise AlertError(f"field 'context.events' has more than {MAX_CONTEXT_EVENTS} events")
    minutes = value.get("window_minutes", 30)
    if not isinstance(minutes, int) or isinstance(minutes, bool):
        raise AlertError("field 'context.window_minutes' must be a whole number")
    return {"window_minutes": minutes, "events": events}


def upsert_alert(data: dict[str, Any], request: HttpRequest) -> JsonResponse:
    """Create the open alert (and its case) for this subject and theme, or update it."""
    subject = data.get("user") or f"address:{data['address']}"
    for _attempt in range(2):
        try:
            with transaction.atomic():
                alert = (
                    Alert.objects.select_for_update()
                    .filter(subject=subject, theme=data["theme"], status__in=OPEN_STATUSES)
                    .first()
                )
                if alert is not None:
                    _merge(alert, data)
                    return _answer(alert, created=False)
                alert = _create(subject, data, request)
                return _answer(alert, created=True)
        except IntegrityError:  # the same new alert arrived twice at once: update the winner
            continue
    raise RuntimeError("alert upsert did not settle")


def _create(subject: str, data: dict[str, Any], request: HttpRequest) -> Alert:
    person = User.objects.filter(username=data["user"]).first() if data.get("user") else None
    alert = Alert(
        subject=subject,
        user=data.get("user", ""),
        person=person,
        address=data.get("address", ""),
        group=data.get("group", ""),
        theme=data["theme"],
        level=data["level"],
        count=data["count"],
        first=data["first"],
        last=data["last"],
        notify=data.get("notify", []),
        context=data["context"],
        key=data.get("id", ""),
    )
    alert.case = _open_case(alert, data, person, request)
    alert.save()
    record(None, "alert.open", alert, {"theme": alert.theme, "count": alert.count}, request)
    return alert


def _merge(alert: Alert, data: dict[str, Any]) -> None:
    newer = data["last"] >= alert.last
    alert.count = max(alert.count, data["count"])
    alert.first = min(alert.first, data["first"])
    alert.last = max(alert.last, data["last"])
    if AlertLevel(data["level"]).rank > AlertLevel(alert.level).rank:
        alert.level = data["level"]
    alert.notify = sorted(set(alert.notify) | set(data.get("notify", [])))
    if newer:
        alert.context = data["context"]
        alert.key = data.get("id", alert.key)
        alert.address = data.get("address", alert.address)
    alert.save()
    if alert.case_id:
        Case.objects.filter(pk=alert.case_id).update(alert=_case_summary(alert))
    record(None, "alert.update", alert, {"count": alert.count, "level": alert.level})


def _open_case(
    alert: Alert, data: dict[str, Any], person: User | None, request: HttpRequest
) -> Case:
    applies_to = "staff" if person is not None and person.role in STAFF_ROLES else "pupil"
    category = data.get("category", "")
    choice = incident_for_category(applies_to, category) if category else None
    illegal = category in ILLEGAL_CATEGORIES or bool(choice and choice.incident.illegal)
    who = alert.user or f"the device at {alert.address}"
    fields: dict[str, Any] = {
        "summary": f"Monitoring alert ({alert.level}): {alert.theme} — {who}"[:200],
        "details": data.get("reason") or "Raised by Schoolgate monitoring.",
        "url": data.get("target", ""),
        "occurred_at": alert.first,
        "involved_text": "" if person else alert.user,
        "device": alert.address,
        "incident_type": choice.key if choice else "",
        "illegal": illegal,
        "alert": _case_summary(alert),
    }
    return workflow.open_case(None, Source.ALERT, fields, [person] if person else [], request)


def _case_summary(alert: Alert) -> dict[str, Any]:
    """What the case keeps of its alert (the context bundle stays on the alert)."""
    return {
        "theme": alert.theme,
        "level": alert.level,
        "count": alert.count,
        "first": alert.first.isoformat(),
        "last": alert.last.isoformat(),
        "user": alert.user,
        "address": alert.address,
        "notify": alert.notify,
    }


def _answer(alert: Alert, created: bool) -> JsonResponse:
    case = alert.case
    return JsonResponse(
        {
            "alert": alert.pk,
            "count": alert.count,
            "created": created,
            "case": case.reference if case else None,
            "id": case.pk if case else None,
            "url": reverse("case-detail", args=[case.pk]) if case else None,
            "illegal": case.illegal if case else False,
            "incident_type": case.incident_type if case else "",
        },
        status=201 if created else 200,
    )
