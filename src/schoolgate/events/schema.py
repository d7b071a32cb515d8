"""One event format for everything Schoolgate sees: the contract between writers and readers.

Every writer — the DNS resolver, the web proxy, the Squid helper, the pages server, the log
ingesters — produces `Event`s; every reader — the monitor, the event store, the staff app's
query log, the tests — reads them back through `Event.from_record`. The on-disk form is a flat
JSON object (`Event.to_record`) whose keys are documented in `docs/events.md`.

Rules of the format (version 1):
- `at` is UTC, ISO 8601 with microseconds and a `Z` (`2026-11-24T10:32:07.123456Z`); readers
  accept any ISO 8601 offset and convert it to UTC.
- `source` says which component saw the request (`dns`, `proxy`, `squid`, `pages`, `gateway`
  for gateway-wide happenings such as a device's `binding` changing holder, or an
  ingested log: `squid-log`, `zeek-dns`, `zeek-http`, `zeek-ssl`, `dnsmasq`, `unbound`, `json`);
  `journal` marks what the journal itself could not keep (`journal-dropped`).
- `kind` is `decision` for a filtering decision (every DNS query, proxied request, helper
  lookup or ingested log line), and otherwise what happened (`warn-pass`, `agreement-signed`,
  `signin`, `binding`, `unblock-request`, `journal-dropped`, …).
- `address` is the device's IP address as text; `user` and `group` are who the gateway took the
  device to be (None when it could not tell).
- `target` is the host or URL decided on; `search` the search terms extracted from it, if any.
- `action`, `categories`, `rule`, `alert`, `notify`, `keywords`, `reason` come from the engine's
  `Decision`; `alert` is one of `none`, `low`, `medium`, `high`, `critical`.
- `extra` holds anything source-specific (a DNS query type, an HTTP status, a log file and line).
No illegal material is ever part of an event: the URL is recorded, never the content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SCHEMA_VERSION = 1

SOURCES = frozenset(
    {
        "dns",
        "proxy",
        "squid",
        "pages",
        "monitor",
        "journal",
        "gateway",
        "squid-log",
        "zeek-dns",
        "zeek-http",
        "zeek-ssl",
        "dnsmasq",
        "unbound",
        "json",
    }
)
ALERT_LEVELS = ("none", "low", "medium", "high", "critical")
ACTIONS = ("allow", "warn", "block")


class EventError(ValueError):
    """A record that is not a valid event; the message names the field and why."""


def format_time(moment: datetime) -> str:
    """UTC, ISO 8601, microseconds, `Z`: the one time format in events."""
    if moment.tzinfo is None:
        raise EventError("event times must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise EventError(f"field 'at': {text!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise EventError(f"field 'at': {text!r} has no time zone")
    return moment.astimezone(UTC)


def epoch_to_time(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime
    source: str
    kind: str = "decision"
    address: str | None = None
    user: str | None = None
    group: str | None = None
    target: str | None = None
    search: str | None = None
    action: str | None = None
    categories: tuple[str, ...] = ()
    rule: str | None = None
    alert: str = "none"
    notify: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """The flat JSON object written to the journal and stores (`v` is the schema version)."""
        record: dict[str, Any] = {
            "v": SCHEMA_VERSION,
            "at": format_time(self.at),
            "source": self.source,
            "kind": self.kind,
            "address": self.address,
            "user": self.user,
            "group": self.group,
            "target": self.target,
            "search": self.search,
            "action": self.action,
            "categories": list(self.categories),
            "rule": self.rule,
            "alert": self.alert,
            "notify": list(self.notify),
            "keywords": list(self.keywords),
            "reason": self.reason,
        }
        if self.extra:
            record["extra"] = self.extra
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Event:
        """Read a record back, checking every field; raises `EventError` naming the field."""
        if not isinstance(record, dict):
            raise EventError("an event must be a JSON object")
        version = record.get("v")
        if version != SCHEMA_VERSION:
            raise EventError(f"field 'v': version {version!r} is not {SCHEMA_VERSION}")
        at = parse_time(_text(record, "at", required=True))
        source = _text(record, "source", required=True)
        if source not in SOURCES:
            raise EventError(f"field 'source': {source!r} is not one of {sorted(SOURCES)}")
        action = _text(record, "action")
        if action is not None and action not in ACTIONS:
            raise EventError(f"field 'action': {action!r} is not one of {list(ACTIONS)}")
        alert = _text(record, "alert") or "none"
        if alert not in ALERT_LEVELS:
            raise EventError(f"field 'alert': {alert!r} is not one of {list(ALERT_LEVELS)}")
        extra = record.get("extra", {})
        if extra is None:
            extra = {}
        if not isinstance(extra, dict):
            raise EventError("field 'extra' must be an object")
        return cls(
            at=at,
            source=source,
            kind=_text(record, "kind") or "decision",
            address=_text(record, "address"),
            user=_text(record, "user"),
            group=_text(record, "group"),
            target=_text(record, "target"),
            search=_text(record, "search"),
            action=action,
            categories=_texts(record, "categories"),
            rule=_text(record, "rule"),
            alert=alert,
            notify=_texts(record, "notify"),
            keywords=_texts(record, "keywords"),
            reason=_text(record, "reason"),
            extra=extra,
        )


def _text(record: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = record.get(name)
    if value is None:
        if required:
            raise EventError(f"field {name!r} is required")
        return None
    if not isinstance(value, str):
        raise EventError(f"field {name!r} must be a string, not {type(value).__name__}")
    return value


def _texts(record: dict[str, Any], name: str) -> tuple[str, ...]:
    value = record.get(name) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise EventError(f"field {name!r} must be a list of strings")
    return tuple(value)
