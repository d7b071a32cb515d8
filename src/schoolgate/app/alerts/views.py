"""A person's monitoring history: their alerts, with each one's 30-minute context bundle.

Safeguarding roles only (Capability.VIEW_ALERTS); every opening is written to the audit trail,
because it shows what a named child searched for (STM-267, issue 8).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from schoolgate.app.access import requires
from schoolgate.app.alerts.models import Alert
from schoolgate.app.audit.trail import record
from schoolgate.app.roles import Capability
from schoolgate.events.schema import EventError, parse_time
from schoolgate.events.store import host_of


@requires(Capability.VIEW_ALERTS)
@require_GET
def person_history(request: HttpRequest, username: str) -> HttpResponse:
    alerts = list(Alert.objects.filter(user=username).select_related("case")[:200])
    record(request.user, "alerts.history.view", None, {"user": username}, request=request)
    rows = [
        (
            alert,
            theme_label(alert.theme),
            [_context_row(e) for e in alert.context.get("events", [])],
        )
        for alert in alerts
    ]
    return render(request, "app/alert_history.html", {"username": username, "rows": rows})


THEMES = {
    "illegal-content": "Attempt to reach illegal content",
    "circumvention": "Trying to get round the filter",
    "repeated-blocks": "Repeated blocked attempts",
    "search-terms": "Worrying search terms",
}
ACTIONS = {"allow": "Allowed", "warn": "Warned", "block": "Blocked"}


def theme_label(theme: str) -> str:
    return THEMES.get(theme, theme.replace("-", " ").capitalize())


def _context_row(event: dict) -> dict[str, object]:
    try:
        at = parse_time(str(event.get("at", "")))
    except EventError:
        at = None
    return {
        "at": at,
        "action": ACTIONS.get(str(event.get("action")), "—"),
        "host": host_of(event.get("target")) or "",
        "search": str(event.get("search") or ""),
        "categories": ", ".join(c.replace("-", " ") for c in event.get("categories") or []),
    }
