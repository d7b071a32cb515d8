"""The journal records every gateway writer emits: `schoolgate.events.schema.Event` records.

The DNS resolver (`source="dns"`), the proxy (`"proxy"`), the Squid helper (`"squid"`) and the
pages server (`"pages"`) all journal through these two functions, so the monitor reads one shape
(docs/events.md). A decision becomes a `kind="decision"` event carrying the engine's `Decision`
fields; anything else that happens at the gateway (a warn pass, a signed agreement, an unblock
request) is an event of its own kind. Times are the gateway's clock, in UTC.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

from schoolgate.engine.decide import Decision
from schoolgate.events.schema import SCHEMA_VERSION, Event, epoch_to_time

_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
_string = json.encoder.encode_basestring  # a str as JSON, as `_json` writes it
_FRAGMENTS_KEPT = 10_000


class EventSink(Protocol):
    """Where gateway writers put events: `schoolgate.events.journal.JournalWriter` in production.

    `append` keeps an event (never waits on the disk); `hand_over` gives everything kept so far
    to the operating system, and a writer calls it before it sends the answer the events belong
    to, so no answered decision is lost to a crash of the gateway (issue 8)."""

    def append(self, event: dict[str, Any]) -> bool: ...

    def append_payload(self, payload: bytes) -> bool:
        """`append` for an event already encoded as a JSON object (`DecisionEncoder`)."""
        ...

    def hand_over(self) -> None: ...


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


def binding_recorder(sink: EventSink) -> Callable[[str, Any], None]:
    """For `Identity(on_change=...)`: each change of who holds an address becomes a `binding`
    event (no user: released), the history the monitor attributes third-party logs by."""

    def record(address: str, binding: Any) -> None:
        user = binding.user if binding is not None else None
        group = binding.group if binding is not None and user else None
        sink.append(
            happening_record("binding", source="gateway", address=address, user=user, group=group)
        )
        sink.hand_over()

    return record


class DecisionEncoder:
    """The DNS resolver's fast path: `decision_record(...)`'s record as JSON bytes, built from
    fragments kept per distinct decision outcome, so a query costs a few string joins instead of
    an `Event`, a dict and a full JSON encoding. The bytes decode to exactly the same record (a
    test holds it to that); the journal takes them with `append_payload`."""

    def __init__(self, source: str) -> None:
        self._head = f'{{"v":{SCHEMA_VERSION},"at":"'
        self._source = f'","source":{_json(source)},"kind":"decision","address":'
        self._fragments: dict[tuple, tuple[str, str]] = {}
        self._second = -1
        self._second_text = ""

    def encode(
        self,
        decision: Decision,
        *,
        address: str,
        user: str | None,
        target: str,
        qtype: int,
        safe_search: str | None = None,
        unfiltered: str | None = None,
        at: float | None = None,
        selftest: bool = False,
    ) -> bytes:
        """`decision_record(..., extra={"qtype": qtype[, "safe_search": host][, "unfiltered":
        why][, "selftest": true]})` as JSON bytes."""
        group, tail = self._fragments_of(decision)
        extra = f'{{"qtype":{int(qtype)}'
        if safe_search is not None:
            extra += f',"safe_search":{_string(safe_search)}'
        if unfiltered is not None:
            extra += f',"unfiltered":{_string(unfiltered)}'
        if selftest:
            extra += ',"selftest":true'
        extra += "}"
        return "".join(
            (
                self._head,
                self._time(time.time() if at is None else at),
                self._source,
                _string(address),
                ',"user":',
                "null" if user is None else _string(user),
                ',"group":',
                group,
                ',"target":',
                _string(target),
                tail,
                ',"reason":',
                _string(decision.reason),  # it names the target, so is not part of a fragment
                ',"extra":',
                extra,
                "}",
            )
        ).encode()

    def _fragments_of(self, decision: Decision) -> tuple[str, str]:
        key = (
            decision.group,
            decision.search,
            decision.action,
            decision.categories,
            decision.rule,
            decision.alert,
            decision.notify,
            decision.keywords,
        )
        found = self._fragments.get(key)
        if found is None:
            record = decision_record(decision, source="dns", address=None, user=None, at=0)
            names = ("search", "action", "categories", "rule", "alert", "notify", "keywords")
            tail = "".join(f',"{n}":{_json(record[n])}' for n in names)
            found = (_json(record["group"]), tail)
            if len(self._fragments) >= _FRAGMENTS_KEPT:
                self._fragments.clear()
            self._fragments[key] = found
        return found

    def _time(self, at: float) -> str:
        """`format_time(epoch_to_time(at))`, rounding as `datetime.fromtimestamp` does."""
        fraction, whole = math.modf(at)
        second, micro = int(whole), round(fraction * 1_000_000)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._second_text}.{micro:06d}Z"
