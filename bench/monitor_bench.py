"""Monitor benchmarks: log ingest lines/s per core, and event-to-email latency.

    .venv/bin/python bench/monitor_bench.py [--rounds 3] [--alerts 200]

Ingest: the real shared Zeek logs (dns.log 53.6k lines, ssl.log 49k lines, decompressed first;
http.log repeated 200 times) and Squid access.logs in the native and common formats built
from the real Zeek ssl.log and dns.log records (client address, time, server name: 100k+
lines). Each file is read to events with `schoolgate.monitor.logs.read_log`; lines per CPU
second (process time: one core) and per wall-clock second, min / median / max over the rounds.
Also the whole replay path for the Squid log (parse, attribute, decide under the St Thomas More
policy with the UT1 lists, alert rules), per CPU second.

Latency: the live monitor (journal → store → rules → outbox → SMTP) with a real SMTP server
(aiosmtpd) on 127.0.0.1. Alert-raising events (a self-harm search each, from a different pupil
so none is de-duplicated) are written to the journal 20 a second; the time from each
`JournalWriter.append` to the DSL's message arriving at the SMTP server is measured.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "src"))

from schoolgate.events.journal import JournalWriter  # noqa: E402
from schoolgate.events.schema import Event  # noqa: E402
from schoolgate.events.store import EventStore  # noqa: E402
from schoolgate.monitor.delivery import DeliverySettings  # noqa: E402
from schoolgate.monitor.logs import LogReport, read_log  # noqa: E402
from schoolgate.monitor.mailsink import MailSink  # noqa: E402
from schoolgate.monitor.outbox import Outbox  # noqa: E402
from schoolgate.monitor.service import Monitor  # noqa: E402


def prepare(tmp: Path) -> dict[str, tuple[str, Path]]:
    zeek = DATA / "zeek-logs" / "zeek-default"
    files: dict[str, tuple[str, Path]] = {}
    for kind in ("dns", "ssl"):
        path = tmp / f"{kind}.log"
        path.write_bytes(gzip.decompress((zeek / f"{kind}.log.gz").read_bytes()))
        files[f"zeek {kind}.log"] = (f"zeek-{kind}", path)
    http = (DATA / "zeek-http-log" / "http.log").read_text().splitlines(keepends=True)
    header = [line for line in http if line.startswith("#")]
    rows = [line for line in http if not line.startswith("#")]
    repeated = tmp / "http.log"
    repeated.write_text("".join(header + rows * 200))
    files["zeek http.log ×200"] = ("zeek-http", repeated)
    native, common = squid_logs(tmp, files)
    files["squid native"] = ("squid", native)
    files["squid common"] = ("squid-common", common)
    return files


def squid_logs(tmp: Path, files: dict[str, tuple[str, Path]]) -> tuple[Path, Path]:
    """Squid lines for the same clients, times and names as the real Zeek records."""
    native, common = tmp / "access.log", tmp / "access-common.log"
    with open(native, "w") as out_native, open(common, "w") as out_common:
        for label in ("zeek dns.log", "zeek ssl.log"):
            fmt, path = files[label]
            for event in read_log(fmt, path):
                host = event.target.split("://", 1)[-1].strip("/")
                ts = event.at.timestamp()
                if fmt == "zeek-ssl":
                    request, method = f"{host}:443", "CONNECT"
                    code = "TCP_TUNNEL/200"
                else:
                    request, method = f"http://{host}/", "GET"
                    code = "TCP_MISS/200"
                out_native.write(
                    f"{ts:.3f}     42 {event.address} {code} 1024 {method} {request} - "
                    "HIER_DIRECT/10.0.0.1 -\n"
                )
                stamp = event.at.strftime("%d/%b/%Y:%H:%M:%S +0000")
                out_common.write(
                    f'{event.address} - - [{stamp}] "{method} {request} HTTP/1.1" 200 1024 '
                    f"{code.split('/')[0]}:HIER_DIRECT\n"
                )
    return native, common


def measure_ingest(fmt: str, path: Path) -> tuple[float, float, int]:
    report = LogReport(path, fmt)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in read_log(fmt, path, report):
        pass
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return report.lines / cpu, report.lines / wall, report.lines


def measure_replay(path: Path) -> tuple[float, int]:
    from schoolgate.commands._snapshots import cached_snapshot, default_manifest
    from schoolgate.engine.decide import Decider
    from schoolgate.monitor.replay import replay_logs

    decider = Decider(
        cached_snapshot(REPO / "policies" / "st-thomas-more.yaml", [default_manifest()])
    )
    cpu = time.process_time()
    result = replay_logs(decider, [("squid", path)])
    return result.events / (time.process_time() - cpu), result.events


def measure_latency(tmp: Path, alerts: int) -> list[float]:
    from schoolgate.engine.policy.loader import load_policy

    policy = load_policy(REPO / "policies" / "st-thomas-more.yaml")
    arrived: dict[str, float] = {}
    sink = MailSink(
        on_message=lambda message, rcpts: (
            arrived.setdefault(message["X-Schoolgate-Alert"].split("|")[0], time.perf_counter())
            if "dsl@bench.test" in rcpts
            else None
        )
    )
    host, port = sink.start()
    journal_dir = tmp / "latency-journal"
    journal = JournalWriter(journal_dir, flush_interval=0.05)
    addresses = {c.role: f"{c.role}@bench.test" for c in policy.contacts}
    monitor = Monitor(
        policy=policy,
        journal=journal_dir,
        store=EventStore.open(tmp / "latency-events.sqlite3"),
        outbox=Outbox(tmp / "latency-outbox.sqlite3"),
        settings=DeliverySettings(smtp_host=host, smtp_port=port, addresses=addresses),
        clock=lambda: datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        poll=0.1,
    ).start()
    sent: dict[str, float] = {}
    try:
        for i in range(alerts):
            user = f"pupil-{i}"
            event = Event(
                at=datetime.now(UTC),
                source="proxy",
                address=f"10.9.{i // 250}.{i % 250}",
                user=user,
                group="pupil-ks2",
                target="http://www.google.com/search?q=x",
                search="x",
                action="allow",
                rule="search-self-harm",
                alert="critical",
                keywords=("x",),
            )
            sent[user] = time.perf_counter()
            journal.append(event.to_record())
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while len(arrived) < alerts and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        monitor.stop()
        journal.close()
        sink.stop()
    return sorted(arrived[u] - sent[u] for u in sent if u in arrived)


def spread(values: list[float]) -> str:
    return f"{min(values):,.0f} / {statistics.median(values):,.0f} / {max(values):,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--latency-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        tmp = Path(directory)
        if args.latency_only:
            report_latency(tmp, args.alerts)
            return
        files = prepare(tmp)
        cpu: dict[str, list[float]] = {k: [] for k in files}
        wall: dict[str, list[float]] = {k: [] for k in files}
        lines: dict[str, int] = {}
        for _ in range(args.rounds):
            for label, (fmt, path) in files.items():
                per_cpu, per_wall, lines[label] = measure_ingest(fmt, path)
                cpu[label].append(per_cpu)
                wall[label].append(per_wall)
        print(f"Ingest, {args.rounds} rounds, load average {os.getloadavg()}")
        print(f"{'log':22} {'lines':>8} {'lines/CPU-s min/med/max':>30} {'lines/wall-s':>28}")
        for label in files:
            print(
                f"{label:22} {lines[label]:>8,} {spread(cpu[label]):>30} {spread(wall[label]):>28}"
            )
        replay_rates = []
        for _ in range(args.rounds):
            rate, events = measure_replay(files["squid native"][1])
            replay_rates.append(rate)
        print(f"replay squid native (parse+attribute+decide+rules): {events:,} lines, "
              f"{spread(replay_rates)} lines/CPU-s; load {os.getloadavg()}")  # fmt: skip
        report_latency(tmp, args.alerts)


def report_latency(tmp: Path, alerts: int) -> None:
    latencies = measure_latency(tmp, alerts)
    if latencies:
        p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
        print(
            f"Event-to-email latency, {len(latencies)}/{alerts} alerts mailed: "
            f"median {statistics.median(latencies):.3f} s, p95 {p95:.3f} s, "
            f"max {latencies[-1]:.3f} s; load {os.getloadavg()}"
        )
    else:
        print("Event-to-email latency: no mail arrived")


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
