"""POST /api/alerts/: the monitoring opens a case from an alert, idempotently by alert id.

A body with a `theme` is the monitor's de-duplicated alert and goes to
`schoolgate.app.alerts.api` (one open alert and case per user and theme, count updated); the
shape below, keyed by `id` alone, is kept for other senders.

Authorised by a bearer token from `SCHOOLGATE_ALERT_TOKENS`; a session cookie is not enough.
Body (JSON): {"id": str, "user": str?, "category": str?, "target": str?, "level": str?,
"reason": str?, "at": ISO datetime?}.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from schoolgate.app.access import public
from schoolgate.app.alerts.api import AlertError as ThemedAlertError
from schoolgate.app.alerts.api import parse_themed_alert, upsert_alert
from schoolgate.app.cases import workflow
from schoolgate.app.cases.models import Case, Source
from schoolgate.app.people.models import User
from schoolgate.app.policy import incident_for_category
from schoolgate.app.roles import STAFF_ROLES
from schoolgate.engine.policy.schema import AlertLevel
from schoolgate.engine.taxonomy import ILLEGAL_CATEGORIES

_TEXT_FIELDS = {
    "id": 200,
    "user": 150,
    "category": 64,
    "target": 2000,
    "level": 16,
    "reason": 2000,
    "at": 40,
    "group": 64,
}


class AlertError(ValueError):
    pass


def _authorised(request: HttpRequest) -> bool:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(
        hmac.compare_digest(token.encode(), t.encode()) for t in settings.SCHOOLGATE_ALERT_TOKENS
    )


def parse_alert(body: bytes) -> dict[str, str]:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AlertError(f"body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise AlertError("body must be a JSON object")
    unknown = sorted(set(data) - set(_TEXT_FIELDS))
    if unknown:
        raise AlertError(f"unknown fields {unknown}; known: {sorted(_TEXT_FIELDS)}")
    for name, value in data.items():
        if not isinstance(value, str):
            raise AlertError(f"field {name!r} must be a string")
        if len(value) > _TEXT_FIELDS[name]:
            raise AlertError(f"field {name!r} is longer than {_TEXT_FIELDS[name]} characters")
    if not data.get("id", "").strip():
        raise AlertError("field 'id' is required: the alert's unique id")
    if "level" in data and data["level"] not in AlertLevel.__members__.values():
        raise AlertError(f"field 'level' must be one of {[lvl.value for lvl in AlertLevel]}")
    if "at" in data:
        try:
            datetime.fromisoformat(data["at"])
        except ValueError:
            raise AlertError("field 'at' is not an ISO 8601 date-time") from None
    return data


@public
@csrf_exempt
@require_POST
def alert_to_case(request: HttpRequest) -> JsonResponse:
    if not _authorised(request):
        return JsonResponse({"error": "a valid bearer token is required"}, status=401)
    themed = _themed(request.body)
    if themed is not None:
        try:
            return upsert_alert(parse_themed_alert(themed), request)
        except ThemedAlertError as exc:
            return JsonResponse({"error": str(exc)}, status=400)
    try:
        alert = parse_alert(request.body)
    except AlertError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    existing = Case.objects.filter(alert_key=alert["id"]).first()
    if existing is not None:
        return _answer(existing, created=False)
    try:
        with transaction.atomic():
            case = _open_from_alert(alert, request)
    except IntegrityError:  # the same alert arrived twice at once
        return _answer(Case.objects.get(alert_key=alert["id"]), created=False)
    return _answer(case, created=True)


def _themed(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) and "theme" in data else None


def _open_from_alert(alert: dict[str, str], request: HttpRequest) -> Case:
    user = (
        User.objects.filter(username=alert.get("user", "")).first() if alert.get("user") else None
    )
    applies_to = "staff" if user is not None and user.role in STAFF_ROLES else "pupil"
    category = alert.get("category", "")
    choice = incident_for_category(applies_to, category) if category else None
    illegal = category in ILLEGAL_CATEGORIES or bool(choice and choice.incident.illegal)
    occurred = datetime.fromisoformat(alert["at"]) if alert.get("at") else None
    fields: dict[str, Any] = {
        "summary": f"Monitoring alert ({alert.get('level', 'unrated')}): "
        f"{category or 'uncategorised'} {alert.get('target', '')}".strip()[:200],
        "details": alert.get("reason", "") or "Raised by Schoolgate monitoring.",
        "url": alert.get("target", ""),
        "occurred_at": occurred,
        "involved_text": "" if user else alert.get("user", ""),
        "incident_type": choice.key if choice else "",
        "illegal": illegal,
        "alert_key": alert["id"],
        "alert": alert,
    }
    return workflow.open_case(None, Source.ALERT, fields, [user] if user else [], request=request)


def _answer(case: Case, created: bool) -> JsonResponse:
    return JsonResponse(
        {
            "case": case.reference,
            "id": case.pk,
            "created": created,
            "url": reverse("case-detail", args=[case.pk]),
            "illegal": case.illegal,
            "incident_type": case.incident_type,
        },
        status=201 if created else 200,
    )
