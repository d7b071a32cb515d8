"""Third-party logs read as events: Squid, Zeek, dnsmasq, unbound and generic JSON lines.

Each format is a function from one line to an `Event` (or `None` for a line that is valid but
not a request, such as a Zeek header or a dnsmasq `reply` line); a line that cannot be read
raises `LogLineError`. `read_log(fmt, path)` runs a whole file, gzipped or not, and never
stops at a bad line: it counts it and keeps its file:line and reason (`LogReport.bad`).

Formats (the `FORMAT` of `schoolgate monitor replay --log FORMAT:PATH`):

- `squid`: Squid's native access.log (`time elapsed client code/status bytes method URL user
  hierarchy type`); `squid-common`: Squid's common log format (`emulate_httpd_log`).
- `zeek-dns`, `zeek-http`, `zeek-ssl`: Zeek's dns.log (query), http.log (host + URI) and
  ssl.log (SNI server name), in Zeek's TSV (with its `#fields` header) or as JSON lines: the
  same connection gives the same event in both (tested).
- `dnsmasq`: `log-queries` lines (`query[A] name from address`); syslog times carry no year
  or zone, so the file's modification year is used and the times are read as UTC.
- `unbound`: `log-queries` lines (`[epoch] unbound[pid:t] info: address name. TYPE IN`), with
  epoch or `log-time-ascii` times.
- `json`: one JSON object per line: a Schoolgate event record (`"v": 1`) or any object with a
  time (`at`/`ts`/`time`/`timestamp`), a client (`address`/`client`/`ip`/`src`) and a target
  (`target`/`url`/`host`/`domain`/`query`).

Events from logs are `kind="decision"` with no action yet: the monitor decides each one under
the policy (the same rules as live traffic) and keeps what the log said in `extra`.
STM-008 (monitoring logs of internet activity), STM-032.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from schoolgate.events.schema import Event, EventError, parse_time

MAX_BAD_KEPT = 100


class LogLineError(ValueError):
    """A line that is not in the format it was said to be; the message says why."""


@dataclass
class LogReport:
    path: Path
    format: str
    lines: int = 0
    parsed: int = 0
    ignored: int = 0
    bad: int = 0
    bad_lines: list[str] = field(default_factory=list)

    def note_bad(self, number: int, reason: str) -> None:
        self.bad += 1
        if len(self.bad_lines) < MAX_BAD_KEPT:
            self.bad_lines.append(f"{self.path}:{number}: {reason}")

    def summary(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "format": self.format,
            "lines": self.lines,
            "parsed": self.parsed,
            "ignored": self.ignored,
            "bad": self.bad,
        }


def _epoch(text: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise LogLineError(f"time {text[:40]!r} is not a Unix time") from None


# Squid --------------------------------------------------------------------------------------------


def squid_native(line: str, context: LineContext) -> Event | None:
    fields = line.split()
    if len(fields) < 7:
        raise LogLineError(f"expected at least 7 fields, found {len(fields)}")
    at = _epoch(fields[0])
    code, _, status = fields[3].partition("/")
    method, url = fields[5], fields[6]
    user = fields[7] if len(fields) > 7 and fields[7] != "-" else None
    return Event(
        at=at,
        source="squid-log",
        address=fields[2],
        user=user,
        target=_squid_target(method, url),
        extra={"method": method, "squid": code, "status": status, **context.where},
    )


_COMMON = re.compile(
    r'^(\S+) (\S+) (\S+) \[([^\]]+)\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}|-) (\d+|-)(?: (\S+))?\s*$'
)


def squid_common(line: str, context: LineContext) -> Event | None:
    match = _COMMON.match(line)
    if match is None:
        raise LogLineError('not in common log format (client ident user [time] "request" …)')
    address, _ident, user, when, method, url, status, _size, codes = match.groups()
    at = _common_time(when)
    extra = {"method": method, "status": status, **context.where}
    if codes:
        extra["squid"] = codes.split(":", 1)[0]
    return Event(
        at=at,
        source="squid-log",
        address=address,
        user=None if user == "-" else user,
        target=_squid_target(method, url),
        extra=extra,
    )


_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def _common_time(text: str) -> datetime:
    """`24/Nov/2026:10:30:00 +0100` (strptime is five times slower on this path)."""
    try:
        day, month, rest = text.split("/", 2)
        year, hour, minute, second_zone = rest.split(":", 3)
        second, zone = second_zone.split(" ")
        sign = -1 if zone[0] == "-" else 1
        offset = sign * (int(zone[1:3]) * 60 + int(zone[3:5]))
        local = datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except (ValueError, KeyError, IndexError):
        raise LogLineError(f"time {text!r} is not dd/Mon/yyyy:HH:MM:SS +zone") from None
    return local - timedelta(minutes=offset) if offset else local


def _squid_target(method: str, url: str) -> str:
    if method == "CONNECT":  # host:443 -> the https URL the proxy and journal use
        host = url.rsplit(":", 1)[0] if url.count(":") == 1 else url
        return f"https://{host}/"
    return url


# Zeek ---------------------------------------------------------------------------------------------

ZEEK_SOURCES = {"zeek-dns": "dns", "zeek-http": "http", "zeek-ssl": "ssl"}


def zeek_event(kind: str, values: dict[str, Any], context: LineContext) -> Event | None:
    """One Zeek record (from TSV or JSON, values already typed) as an event."""
    address = values.get("id.orig_h")
    ts = values.get("ts")
    if address is None or ts is None:
        raise LogLineError("a Zeek record needs 'ts' and 'id.orig_h'")
    at = ts if isinstance(ts, datetime) else _zeek_time(ts)
    extra = {"uid": _text_or_none(values.get("uid")), **context.where}
    if kind == "dns":
        query = values.get("query")
        if not query:
            return None
        target = str(query)
        extra["qtype"] = _text_or_none(values.get("qtype_name"))
    elif kind == "http":
        host = values.get("host")
        if not host:
            return None
        uri = values.get("uri") or "/"
        target = f"http://{host}{uri if str(uri).startswith('/') else '/'}"
        extra["method"] = _text_or_none(values.get("method"))
        extra["status"] = _text_or_none(values.get("status_code"))
    else:
        name = values.get("server_name")
        if not name:
            return None
        target = f"https://{name}/"
    return Event(at=at, source=f"zeek-{kind}", address=str(address), target=target, extra=extra)


def _text_or_none(value: Any) -> str | None:
    """TSV cells are text, JSON values typed: one text form so both give the same event."""
    return None if value is None else str(value)


def _zeek_time(value: Any) -> datetime:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (ValueError, OverflowError, OSError):
            pass
        try:
            return parse_time(value)
        except EventError as exc:
            raise LogLineError(str(exc)) from None
    raise LogLineError(f"'ts' {value!r} is not a time")


_ZEEK_FIELDS = (
    "ts",
    "uid",
    "id.orig_h",
    "query",
    "qtype_name",
    "host",
    "uri",
    "method",
    "status_code",
    "server_name",
)


class ZeekTsv:
    """Zeek's TSV: `#fields` names the columns, `-` is unset. Only the columns an event needs
    are picked out of each row (by position, worked out once from the header)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.width = 0
        self.columns: list[tuple[str, int]] | None = None
        self.unset = "-"

    def __call__(self, line: str, context: LineContext) -> Event | None:
        if line[0] == "#":
            self._header(line)
            return None
        if self.columns is None:
            raise LogLineError("a data line before the '#fields' header")
        cells = line.rstrip("\n").split("\t")
        if len(cells) != self.width:
            raise LogLineError(f"{len(cells)} columns where '#fields' names {self.width}")
        unset = self.unset
        values = {name: cells[i] for name, i in self.columns if cells[i] != unset}
        return zeek_event(self.kind, values, context)

    def _header(self, line: str) -> None:
        name, _, rest = line.rstrip("\n").partition("\t")
        if name == "#fields":
            fields = rest.split("\t")
            self.width = len(fields)
            self.columns = [(f, i) for i, f in enumerate(fields) if f in _ZEEK_FIELDS]
        elif name == "#unset_field":
            self.unset = rest


class ZeekJson:
    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __call__(self, line: str, context: LineContext) -> Event | None:
        values = _json_object(line)
        return zeek_event(self.kind, values, context)


class ZeekAuto:
    """TSV or JSON lines, whichever the file turns out to be (decided on its first line)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.reader: Callable[[str, LineContext], Event | None] | None = None

    def __call__(self, line: str, context: LineContext) -> Event | None:
        if self.reader is None:
            self.reader = (
                ZeekJson(self.kind) if line.lstrip().startswith("{") else ZeekTsv(self.kind)
            )
        return self.reader(line, context)


# dnsmasq and unbound ----------------------------------------------------------------------------

_DNSMASQ = re.compile(
    r"^(\w{3})\s+(\d{1,2}) (\d\d:\d\d:\d\d) \S+\[\d+\]: (?:\d+ \S+/\d+ )?(\w+)(?:\[(\w+)\])? "
    r"(\S+) (from|is|to) (\S+)"
)


class Dnsmasq:
    def __init__(self, year: int) -> None:
        self.year = year

    def __call__(self, line: str, context: LineContext) -> Event | None:
        match = _DNSMASQ.match(line)
        if match is None:
            if "dnsmasq" in line:
                return None  # start-up, cache and other messages
            raise LogLineError("not a dnsmasq log line (Mon dd HH:MM:SS dnsmasq[pid]: …)")
        month, day, clock, action, qtype, name, word, address = match.groups()
        if action != "query" or word != "from":
            return None  # forwarded / reply / cached lines describe the same query
        try:
            local = datetime.strptime(f"{self.year} {month} {day} {clock}", "%Y %b %d %H:%M:%S")
        except ValueError:
            raise LogLineError(f"bad time {month} {day} {clock}") from None
        return Event(
            at=local.replace(tzinfo=UTC),
            source="dnsmasq",
            address=address,
            target=name,
            extra={"qtype": qtype, **context.where},
        )


_UNBOUND = re.compile(
    r"^(?:\[(\d+(?:\.\d+)?)\]|(\w{3}\s+\d{1,2} \d\d:\d\d:\d\d)) \S*unbound\[[\d:]+\] info: "
    r"(\S+) (\S+?)\.? (\w+) (\w+)\s*$"
)


class Unbound:
    def __init__(self, year: int) -> None:
        self.year = year

    def __call__(self, line: str, context: LineContext) -> Event | None:
        match = _UNBOUND.match(line)
        if match is None:
            if "unbound[" in line:
                return None  # start-up and other info lines
            raise LogLineError("not an unbound query line ([time] unbound[pid:t] info: …)")
        epoch, ascii_time, address, name, qtype, _qclass = match.groups()
        if epoch is not None:
            at = _epoch(epoch)
        else:
            local = datetime.strptime(f"{self.year} {ascii_time}", "%Y %b %d %H:%M:%S")
            at = local.replace(tzinfo=UTC)
        return Event(
            at=at,
            source="unbound",
            address=address,
            target=name or ".",
            extra={"qtype": qtype, **context.where},
        )


# Generic JSON lines -------------------------------------------------------------------------------

_TIME_KEYS = ("at", "ts", "time", "timestamp")
_ADDRESS_KEYS = ("address", "client", "ip", "src", "client_ip", "id.orig_h")
_TARGET_KEYS = ("target", "url", "host", "domain", "query")


def json_line(line: str, context: LineContext) -> Event | None:
    data = _json_object(line)
    if "v" in data:
        try:
            return Event.from_record(data)
        except EventError as exc:
            raise LogLineError(str(exc)) from None
    at_value = next((data[k] for k in _TIME_KEYS if data.get(k) is not None), None)
    if at_value is None:
        raise LogLineError(f"no time: give one of {list(_TIME_KEYS)}")
    target = next((data[k] for k in _TARGET_KEYS if data.get(k)), None)
    address = next((data[k] for k in _ADDRESS_KEYS if data.get(k)), None)
    if not isinstance(target, str) or not target:
        raise LogLineError(f"no target: give one of {list(_TARGET_KEYS)}")
    user = data.get("user")
    return Event(
        at=_zeek_time(at_value),
        source="json",
        address=str(address) if address is not None else None,
        user=user if isinstance(user, str) and user else None,
        target=target,
        extra=dict(context.where),
    )


def _json_object(line: str) -> dict[str, Any]:
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise LogLineError(f"not JSON: {exc.args[0] if exc.args else exc}") from None
    if not isinstance(data, dict):
        raise LogLineError("a JSON line must be an object")
    return data


# Reading a file -----------------------------------------------------------------------------------


@dataclass
class LineContext:
    """Where a line came from; `where` goes into the event's `extra`."""

    file: str
    line: int = 0

    @property
    def where(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line}


FORMATS = (
    "squid",
    "squid-common",
    "zeek-dns",
    "zeek-http",
    "zeek-ssl",
    "dnsmasq",
    "unbound",
    "json",
)


def line_reader(fmt: str, path: Path) -> Callable[[str, LineContext], Event | None]:
    if fmt == "squid":
        return squid_native
    if fmt == "squid-common":
        return squid_common
    if fmt in ZEEK_SOURCES:
        return ZeekAuto(ZEEK_SOURCES[fmt])
    if fmt in {"dnsmasq", "unbound"}:
        year = _log_year(path)
        return Dnsmasq(year) if fmt == "dnsmasq" else Unbound(year)
    if fmt == "json":
        return json_line
    raise ValueError(f"unknown log format {fmt!r}; known: {', '.join(FORMATS)}")


def _log_year(path: Path) -> int:
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return modified.year


def open_text(path: Path) -> TextIO:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_log(fmt: str, path: Path, report: LogReport | None = None) -> Iterator[Event]:
    """Every event in the file; bad lines are counted in `report` with file:line and why."""
    path = Path(path)
    report = report if report is not None else LogReport(path, fmt)
    reader = line_reader(fmt, path)
    context = LineContext(str(path))
    with open_text(path) as lines:
        for number, line in enumerate(lines, start=1):
            report.lines += 1
            if not line.strip():
                report.ignored += 1
                continue
            context.line = number
            try:
                event = reader(line, context)
            except LogLineError as exc:
                report.note_bad(number, str(exc))
                continue
            except (ValueError, TypeError, KeyError) as exc:  # never let one line stop a file
                report.note_bad(number, f"unreadable: {type(exc).__name__}")
                continue
            if event is None:
                report.ignored += 1
                continue
            report.parsed += 1
            yield event
