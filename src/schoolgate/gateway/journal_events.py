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
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from schoolgate.engine.decide import Decision
from schoolgate.events.journal import HEADER, MAGIC, MAX_RECORD, unencodable_record
from schoolgate.events.schema import SCHEMA_VERSION, Event, epoch_to_time

_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode
_string = json.encoder.encode_basestring  # a str as JSON, as `_json` writes it
_FRAGMENTS_KEPT = 10_000
_crc32 = zlib.crc32


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

    def append_records(self, records: bytes | bytearray, count: int) -> bool:
        """Keep `count` records already framed (`DecisionEncoder.encode_records`)."""
        ...

    def add_source(self, drain: Callable[[], None]) -> None:
        """Call `drain()` at the start of every `hand_over` (it appends events kept back)."""
        ...


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
    bytes kept per distinct decision outcome, so a query costs a few byte joins instead of an
    `Event`, a dict and a full JSON encoding. The bytes are byte for byte what
    `json.dumps(record, separators=(",", ":"), ensure_ascii=False)` gives for the same record (a
    test holds it to that); the journal takes them with `append_payload`.

    Cheap enough for journal on ≥ 0.8× journal off (issue 8; docs/benchmarks.md): the `reason` — a
    long sentence quoting the policy, often with curly quotes — is the costliest field to escape
    and encode. It reads `<heading>: <name> because <explanation and quote>`, so per outcome the
    text around the name is kept escaped and encoded, and per query only the name is escaped (the
    text around it is checked, never assumed: a reason of another shape is escaped whole). The
    second of the time is formatted once per second; `extra` is kept per query type, an address's
    JSON per address. `Journalling` calls it for a whole batch at once, at hand-over."""

    def __init__(self, source: str) -> None:
        self._head = f'{{"v":{SCHEMA_VERSION},"at":"'.encode()
        self._source = f'Z","source":{_json(source)},"kind":"decision","address":'.encode()
        self._fragments: dict[tuple, _Outcome] = {}
        self._extras: dict[int, bytes] = {}
        self._addresses: dict[str, bytes] = {}  # a school has a few thousand devices
        self._second: tuple[int, bytes] = (-1, b"")

    @property
    def head(self) -> bytes:
        """A record's bytes before the time's text (`YYYY-MM-DDTHH:MM:SS.ffffff`)."""
        return self._head

    @property
    def source(self) -> bytes:
        """A record's bytes after the time's text, up to the address's JSON."""
        return self._source

    def subject_json(self, address: str, user: str | None) -> bytes:
        """A record's bytes for the address and user, up to the group's JSON."""
        user_json = b"null" if user is None else _string(user).encode()
        return (
            (self._addresses.get(address) or self._address(address))
            + b',"user":'
            + (user_json + b',"group":')
        )

    def fragments(self, decision: Decision, target: str) -> tuple[bytes, bytes]:
        """A record's bytes for `decision`: from the group's JSON to the target's, and from
        after the target to the reason's JSON."""
        outcome = self._fragments_of(decision, target)
        return outcome.group, outcome.tail

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
        selftest: bool = False,
        at: float | None = None,
    ) -> bytes:
        """`decision_record(..., extra={"qtype": qtype[, "safe_search": host][, "unfiltered":
        why][, "selftest": true]})` as JSON bytes."""
        outcome = self._fragments_of(decision, target)
        if safe_search is None and unfiltered is None and not selftest:
            extra = self._extras.get(qtype)
            if extra is None:
                extra = self._extras[qtype] = self._extra(qtype, None, None, False)
        else:
            extra = self._extra(qtype, safe_search, unfiltered, selftest)
        at = time.time() if at is None else at
        fraction, whole = math.modf(at)  # rounding as `datetime.fromtimestamp` does
        second, micro = int(whole), round(fraction * 1_000_000)
        if micro >= 1_000_000:
            second, micro = second + 1, micro - 1_000_000
        cached_second, second_text = self._second
        if second != cached_second:
            second_text = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(second)).encode()
            self._second = (second, second_text)  # one assignment: safe from any thread
        return b"".join(
            (
                self._head,
                second_text,
                b"%06d" % micro,
                self._source,
                self._addresses.get(address) or self._address(address),
                b',"user":null,"group":' if user is None else b',"user":',
                b"" if user is None else _string(user).encode() + b',"group":',
                outcome.group,
                _string(target).encode(),
                outcome.tail,
                outcome.reason(decision.reason),
                extra,
            )
        )

    def encode_records(self, noted: deque[tuple], out: bytearray) -> int:
        """Empty `noted` — tuples of (decision, address, user, target, qtype, safe_search,
        unfiltered, selftest, at) — into `out` as whole journal records (header and payload,
        `schoolgate.events.journal.encode_payload`); returns how many. The same bytes as
        `encode(...)` for each (a test holds it to that), in one loop with no call per record
        but the C functions: the DNS resolver's hand-over runs it once per batch of datagrams."""
        fragments, addresses, extras = self._fragments, self._addresses, self._extras
        head, source = self._head, self._source
        modf, gmtime, strftime, join = math.modf, time.gmtime, time.strftime, b"".join
        pack, crc32, string = HEADER.pack, _crc32, _string
        cached_second, second_text = self._second
        count = 0
        while noted:
            decision, address, user, target, qtype, safe, unfiltered, selftest, at = noted.popleft()
            outcome = fragments.get(
                (
                    decision.group,
                    decision.search,
                    decision.action,
                    decision.categories,
                    decision.rule,
                    decision.alert,
                    decision.notify,
                    decision.keywords,
                )
            )
            if outcome is None:
                outcome = self._fragments_of(decision, target)
            if safe is None and unfiltered is None and not selftest:
                extra = extras.get(qtype) or self._extra_for(qtype)
            else:
                extra = self._extra(qtype, safe, unfiltered, selftest)
            fraction, whole = modf(at)
            second, micro = int(whole), round(fraction * 1_000_000)
            if micro >= 1_000_000:
                second, micro = second + 1, micro - 1_000_000
            if second != cached_second:
                cached_second = second
                second_text = strftime("%Y-%m-%dT%H:%M:%S.", gmtime(second)).encode()
                self._second = (second, second_text)
            reason, before, after = decision.reason, outcome.before, outcome.after
            if (
                len(reason) >= len(before) + len(after)
                and reason.startswith(before)
                and reason.endswith(after)
            ):
                middle = reason[len(before) : len(reason) - len(after)]
                reason_json = join(
                    (outcome.before_json, string(middle)[1:-1].encode(), outcome.after_json)
                )
            else:
                reason_json = string(reason).encode()
            payload = join(
                (
                    head,
                    second_text,
                    b"%06d" % micro,
                    source,
                    addresses.get(address) or self._address(address),
                    b',"user":null,"group":'
                    if user is None
                    else b',"user":' + string(user).encode() + b',"group":',
                    outcome.group,
                    string(target).encode(),
                    outcome.tail,
                    reason_json,
                    extra,
                )
            )
            if len(payload) > MAX_RECORD:  # a policy quoting a book: say so, never drop silently
                out += unencodable_record(f"DNS event of {len(payload)} bytes for {target}")
            else:
                out += pack(MAGIC, len(payload), crc32(payload))
                out += payload
            count += 1
        return count

    def _extra_for(self, qtype: int) -> bytes:
        extra = self._extras[qtype] = self._extra(qtype, None, None, False)
        return extra

    def _address(self, address: str) -> bytes:
        if len(self._addresses) >= _FRAGMENTS_KEPT:
            self._addresses.clear()
        encoded = self._addresses[address] = _string(address).encode()
        return encoded

    @staticmethod
    def _extra(
        qtype: int, safe_search: str | None, unfiltered: str | None, selftest: bool
    ) -> bytes:
        extra = f',"extra":{{"qtype":{int(qtype)}'
        if safe_search is not None:
            extra += f',"safe_search":{_string(safe_search)}'
        if unfiltered is not None:
            extra += f',"unfiltered":{_string(unfiltered)}'
        if selftest:
            extra += ',"selftest":true'
        return (extra + "}}").encode()

    def _fragments_of(self, decision: Decision, target: str) -> _Outcome:
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
            tail = "".join(f',"{n}":{_json(record[n])}' for n in names) + ',"reason":'
            found = _Outcome(
                f'{_json(record["group"])},"target":'.encode(),
                tail.encode(),
                decision.reason,
                target,
            )
            if len(self._fragments) >= _FRAGMENTS_KEPT:
                self._fragments.clear()
            self._fragments[key] = found
        return found


class _Outcome:
    """The bytes of one decision outcome's record, and its reason's text around the name."""

    __slots__ = ("after", "after_json", "before", "before_json", "group", "tail")

    def __init__(self, group: bytes, tail: bytes, reason: str, name: str) -> None:
        self.group = group
        self.tail = tail
        where = reason.find(name) if name else -1
        if where < 0:  # the name is not in it: the whole reason is the text before
            where, name = len(reason), ""
        self.before, self.after = reason[:where], reason[where + len(name) :]
        self.before_json = _string(self.before)[:-1].encode()  # with its opening quote
        self.after_json = _string(self.after)[1:].encode()  # with its closing quote

    def reason(self, reason: str) -> bytes:
        """`_string(reason)` as UTF-8; only the part between the kept texts is escaped."""
        before, after = self.before, self.after
        if (
            len(reason) >= len(before) + len(after)
            and reason.startswith(before)
            and reason.endswith(after)
        ):
            middle = reason[len(before) : len(reason) - len(after)]
            return self.before_json + _string(middle)[1:-1].encode() + self.after_json
        return _string(reason).encode()
