"""The journal record of one filtering decision, the same fields from the proxy and Squid helper."""

from __future__ import annotations

import time
from typing import Any

from schoolgate.engine.decide import Decision


def decision_event(
    decision: Decision, *, service: str, client: str, user: str | None, method: str, url: str
) -> dict[str, Any]:
    return {
        "type": "decision",
        "service": service,
        "at": time.time(),
        "client": client,
        "user": user,
        "group": decision.group,
        "method": method,
        "url": url,
        "target": decision.target,
        "action": decision.action.value,
        "rule": decision.rule,
        "categories": list(decision.categories),
        "alert": decision.alert.value,
        "notify": list(decision.notify),
        "search": decision.search,
        "reason": decision.reason,
    }
