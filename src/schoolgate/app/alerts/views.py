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
from schoolgate.events.store import host_of


@requires(Capability.VIEW_ALERTS)
@require_GET
def person_history(request: HttpRequest, username: str) -> HttpResponse:
    alerts = list(Alert.objects.filter(user=username).select_related("case")[:200])
    record(request.user, "alerts.history.view", None, {"user": username}, request=request)
    rows = [(alert, [_context_row(e) for e in alert.context.get("events", [])]) for alert in alerts]
    return render(request, "app/alert_history.html", {"username": username, "rows": rows})


def _context_row(event: dict) -> dict[str, str]:
    return {
        "at": str(event.get("at", ""))[:19].replace("T", " "),
        "action": str(event.get("action") or ""),
        "host": host_of(event.get("target")) or "",
        "search": str(event.get("search") or ""),
        "categories": ", ".join(event.get("categories") or []),
    }
