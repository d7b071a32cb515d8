"""Third-party logs read as events; a bad line is counted with file:line and reading goes on.

Issue 8; STM-008 (monitoring logs of internet activity), STM-032.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schoolgate.events.schema import Event
from schoolgate.monitor.logs import LogReport, read_log

ZEEK = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _read(fmt: str, path: Path) -> tuple[list[Event], LogReport]:
    report = LogReport(path, fmt)
    return list(read_log(fmt, path, report)), report


def test_squid_native_with_a_bad_line_in_the_middle(tmp_path) -> None:
    path = _write(
        tmp_path,
        "access.log",
        [
            "1764000000.123    45 10.0.0.5 TCP_MISS/200 1234 GET http://example.com/a - "
            "HIER_DIRECT/1.2.3.4 text/html",
            "garbage",
            "1764000001.000   120 10.0.0.6 TCP_TUNNEL/200 900 CONNECT www.bet365.com:443 jsmith "
            "HIER_DIRECT/5.6.7.8 -",
            "",
        ],
    )
    events, report = _read("squid", path)
    assert [(e.address, e.target, e.user) for e in events] == [
        ("10.0.0.5", "http://example.com/a", None),
        ("10.0.0.6", "https://www.bet365.com/", "jsmith"),
    ]
    assert events[0].at == datetime.fromtimestamp(1764000000.123, UTC)
    assert events[0].extra == {
        "method": "GET",
        "squid": "TCP_MISS",
        "status": "200",
        "file": str(path),
        "line": 1,
    }
    assert (report.parsed, report.bad, report.ignored) == (2, 1, 1)
    assert report.bad_lines == [f"{path}:2: expected at least 7 fields, found 1"]


def test_squid_common_log_format(tmp_path) -> None:
    path = _write(
        tmp_path,
        "access.log",
        [
            '10.0.0.7 - pupil-3 [24/Nov/2026:10:30:00 +0000] "GET http://www.google.com/search?'
            'q=homework HTTP/1.1" 200 5120 TCP_MISS:HIER_DIRECT',
            '10.0.0.8 - - [24/Nov/2026:11:30:00 +0100] "CONNECT vpn.example:443 HTTP/1.1" 403 0',
            '10.0.0.9 - - [31/Feb/2026:11:30:00 +0000] "GET http://x/ HTTP/1.1" 200 1',
        ],
    )
    events, report = _read("squid-common", path)
    assert events[0].user == "pupil-3" and events[0].extra["squid"] == "TCP_MISS"
    assert events[0].at == datetime(2026, 11, 24, 10, 30, tzinfo=UTC)
    assert events[1].target == "https://vpn.example/" and events[1].at.hour == 10
    assert report.bad == 1 and "is not dd/Mon/yyyy" in report.bad_lines[0]


# Zeek TSV -> JSON: the same records must come out of both --------------------------------------


def _typed(kind: str, cell: str, set_separator: str) -> object:
    if kind == "time" or kind == "interval" or kind == "double":
        return float(cell)
    if kind in {"port", "count", "int"}:
        return int(cell)
    if kind == "bool":
        return cell == "T"
    if kind.startswith(("vector", "set", "table")):
        return [] if cell == "(empty)" else cell.split(set_separator)
    return cell


def tsv_to_json(tsv: Path, out: Path) -> int:
    """Zeek's own JSON shape: typed values, unset fields left out."""
    fields: list[str] = []
    types: list[str] = []
    written = 0
    with gzip.open(tsv, "rt") if tsv.suffix == ".gz" else open(tsv) as lines, open(out, "w") as f:
        for line in lines:
            line = line.rstrip("\n")
            if line.startswith("#fields"):
                fields = line.split("\t")[1:]
            elif line.startswith("#types"):
                types = line.split("\t")[1:]
            elif line and not line.startswith("#"):
                record = {
                    name: _typed(kind, cell, ",")
                    for name, kind, cell in zip(fields, types, line.split("\t"), strict=True)
                    if cell != "-"
                }
                f.write(json.dumps(record) + "\n")
                written += 1
    return written


def _without_place(event: Event) -> dict:
    record = event.to_record()
    record["extra"] = {k: v for k, v in record["extra"].items() if k not in {"file", "line"}}
    return record


@pytest.mark.parametrize(
    ("fmt", "path", "least"),
    [
        ("zeek-dns", ZEEK / "zeek-logs" / "zeek-default" / "dns.log.gz", 50_000),
        ("zeek-ssl", ZEEK / "zeek-logs" / "zeek-default" / "ssl.log.gz", 10_000),
        ("zeek-http", ZEEK / "zeek-http-log" / "http.log", 20),
    ],
)
def test_zeek_tsv_and_json_give_identical_events(tmp_path, fmt, path, least) -> None:
    as_json = tmp_path / "log.json"
    rows = tsv_to_json(path, as_json)
    from_tsv, tsv_report = _read(fmt, path)
    from_json, json_report = _read(fmt, as_json)
    assert tsv_report.bad == 0 and json_report.bad == 0
    assert len(from_tsv) >= least and tsv_report.parsed + tsv_report.ignored >= rows
    assert [_without_place(e) for e in from_tsv] == [_without_place(e) for e in from_json]


def test_zeek_fields(tmp_path) -> None:
    events, _ = _read("zeek-dns", ZEEK / "zeek-logs" / "zeek-default" / "dns.log.gz")
    first = events[0]
    assert (first.address, first.target, first.extra["qtype"]) == (
        "10.47.1.100",
        "ise.wrccdc.org",
        "A",
    )
    ssl, report = _read("zeek-ssl", ZEEK / "zeek-logs" / "zeek-default" / "ssl.log.gz")
    assert all(e.target.startswith("https://") for e in ssl)
    assert report.ignored > 0  # sessions without SNI name nothing to decide on
    http, _ = _read("zeek-http", ZEEK / "zeek-http-log" / "http.log")
    assert http[0].target == "http://www.google.com/" and http[0].extra["status"] == "405"


def test_a_zeek_row_with_missing_columns_is_bad_not_fatal(tmp_path) -> None:
    source = ZEEK / "zeek-http-log" / "http.log"
    lines = source.read_text().splitlines()
    header = [line for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    path = _write(tmp_path, "http.log", [*header[:7], body[0], "1\t2\t3", *body[1:3]])
    events, report = _read("zeek-http", path)
    assert report.bad == 1 and report.bad_lines[0].startswith(f"{path}:9: 3 columns")
    assert len(events) + report.ignored - len(header[:7]) == 3  # rows without a host: ignored


def test_dnsmasq_and_unbound_query_logs(tmp_path) -> None:
    dnsmasq = _write(
        tmp_path,
        "dnsmasq.log",
        [
            "Nov 24 10:30:00 dnsmasq[812]: query[A] www.bet365.com from 10.0.0.5",
            "Nov 24 10:30:00 dnsmasq[812]: forwarded www.bet365.com to 9.9.9.9",
            "Nov 24 10:30:00 dnsmasq[812]: reply www.bet365.com is 1.2.3.4",
            "Nov 24 10:30:01 dnsmasq[812]: 17 10.0.0.6/51234 query[AAAA] vpn.example from 10.0.0.6",
            "10:30 garbage",
        ],
    )
    events, report = _read("dnsmasq", dnsmasq)
    assert [(e.address, e.target, e.extra["qtype"]) for e in events] == [
        ("10.0.0.5", "www.bet365.com", "A"),
        ("10.0.0.6", "vpn.example", "AAAA"),
    ]
    assert (events[0].at.month, events[0].at.day, events[0].at.hour) == (11, 24, 10)
    assert (report.ignored, report.bad) == (2, 1)
    unbound = _write(
        tmp_path,
        "unbound.log",
        [
            "[1764000000] unbound[1234:0] info: 10.0.0.5 www.bet365.com. A IN",
            "Nov 24 10:30:02 unbound[1234:1] info: 10.0.0.7 vpn.example. AAAA IN",
            "[1764000000] unbound[1234:0] info: start of service (unbound 1.17.1).",
            "[1764000000] something else",
        ],
    )
    events, report = _read("unbound", unbound)
    assert [(e.address, e.target) for e in events] == [
        ("10.0.0.5", "www.bet365.com"),
        ("10.0.0.7", "vpn.example"),
    ]
    assert events[0].at == datetime.fromtimestamp(1764000000, UTC)
    assert (report.ignored, report.bad) == (1, 1)


def test_json_lines_event_records_and_plain_objects(tmp_path) -> None:
    record = Event(
        at=datetime(2026, 11, 24, 9, 0, tzinfo=UTC), source="proxy", address="10.0.0.5"
    ).to_record()
    path = _write(
        tmp_path,
        "events.jsonl",
        [
            json.dumps(record),
            json.dumps({"ts": 1764000000.5, "client": "10.0.0.9", "url": "http://x.example/"}),
            json.dumps({"time": "2026-11-24T10:00:00+01:00", "ip": "10.0.0.9", "host": "y"}),
            json.dumps({"time": "2026-11-24T10:00:00", "ip": "10.0.0.9", "host": "y"}),
            json.dumps({"ts": 1, "client": "10.0.0.9"}),
            "[1, 2]",
            "{not json",
            json.dumps(record | {"v": 2}),
        ],
    )
    events, report = _read("json", path)
    assert events[0] == Event.from_record(record)
    assert events[1].target == "http://x.example/" and events[2].at.hour == 9
    assert report.bad == 5
    reasons = "\n".join(report.bad_lines)
    for expected in ("no time zone", "no target", "must be an object", "not JSON", "version 2"):
        assert expected in reasons
