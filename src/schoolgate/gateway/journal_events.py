"""The journal records every gateway writer emits: `schoolgate.events.schema.Event` records.

The DNS resolver (`source="dns"`), the proxy (`"proxy"`), the Squid helper (`"squid"`) and the
pages server (`"pages"`) all journal through these two functions, so the monitor reads one shape
(docs/events.md). A decision becomes a `kind="decision"` event carrying the engine's `Decision`
fields; anything else that happens at the gateway (a warn pass, a signed agreement, an unblock
request) is an event of its own kind. Times are the gateway's clock, in UTC.
"""

from __future__ import annotations

import time
from typing import Any

from schoolgate.engine.decide import Decision
from schoolgate.events.schema import Event, epoch_to_time


def decision_record(
    decision: Decision,
    *,
    source: str,
    address: str | None,
    user: str | None,
    target: str | None = None,
    extra: dict[str, Any] | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    """The journal record of one filtering decision; `target` defaults to the decided name."""
    return Event(
        at=epoch_to_time(time.time() if at is None else at),
        source=source,
        kind="decision",
        address=address,
        user=user,
        group=decision.group,
        target=decision.target if target is None else target,
        search=decision.search,
        action=decision.action.value,
        categories=tuple(decision.categories),
        rule=decision.rule,
        alert=decision.alert.value,
        notify=tuple(decision.notify),
        keywords=tuple(decision.keywords),
        reason=decision.reason,
        extra=extra or {},
    ).to_record()


def happening_record(
    kind: str,
    *,
    source: str,
    address: str | None,
    user: str | None,
    group: str | None = None,
    target: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The journal record of something other than a decision (`warn-pass`, `agreement-signed`…)."""
    return Event(
        at=epoch_to_time(time.time()),
        source=source,
        kind=kind,
        address=address,
        user=user,
        group=group,
        target=target,
        extra=extra or {},
    ).to_record()
