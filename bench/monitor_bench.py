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
so none is de-duplicated) are written to the journal 20 a second (each handed over at once,
as the proxy does); the time from each `JournalWriter.append` to the DSL's message arriving at
the SMTP server is measured, split into append → outbox and outbox → SMTP server, over
`--rounds` runs (min / median / max of the p95s, with the load average).
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


def measure_latency(tmp: Path, alerts: int) -> dict[str, list[float]]:
    """Per alert mailed to the DSL, seconds: `total` (journal append → message at the SMTP
    server), `to_outbox` (append → queued in the outbox: journal hand-over, ingest poll, store,
    rules) and `outbox_to_mail` (queued → at the SMTP server: delivery wake-up, SMTP)."""
    from schoolgate.engine.policy.loader import load_policy

    policy = load_policy(REPO / "policies" / "st-thomas-more.yaml")
    arrived: dict[str, float] = {}
    sink = MailSink(
        on_message=lambda message, rcpts: (
            arrived.setdefault(message["X-Schoolgate-Alert"].split("|")[0], time.time())
            if "dsl@bench.test" in rcpts
            else None
        )
    )
    host, port = sink.start()
    tmp = Path(tempfile.mkdtemp(dir=tmp))
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
            sent[user] = time.time()
            journal.append(event.to_record())
            journal.hand_over()  # as the proxy does before it answers
            time.sleep(0.05)
        deadline = time.monotonic() + 60
        while len(arrived) < alerts and time.monotonic() < deadline:
            time.sleep(0.1)
        queued = {
            d.alert_key.split("|")[0]: d.created_at
            for d in monitor.outbox.all("email")
            if d.destination == "dsl@bench.test"
        }
    finally:
        monitor.stop()
        journal.close()
        sink.stop()
    mailed = [u for u in sent if u in arrived and u in queued]
    return {
        "total": sorted(arrived[u] - sent[u] for u in mailed),
        "to_outbox": sorted(queued[u] - sent[u] for u in mailed),
        "outbox_to_mail": sorted(arrived[u] - queued[u] for u in mailed),
    }


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
            report_latency(tmp, args.alerts, args.rounds)
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
        report_latency(tmp, args.alerts, args.rounds)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def report_latency(tmp: Path, alerts: int, rounds: int) -> None:
    """`rounds` runs of the live monitor; per run median / p95 / max, then min / median / max
    of the p95s, each with the load average (1 min) at the end of its run."""
    p95s: list[float] = []
    for round_ in range(rounds):
        parts = measure_latency(tmp, alerts)
        latencies = parts["total"]
        load = os.getloadavg()
        if not latencies:
            print(f"round {round_ + 1}: no mail arrived; load {load}")
            continue
        p95s.append(percentile(latencies, 95))
        where = ", ".join(
            f"{name} median {statistics.median(v):.3f} s p95 {percentile(v, 95):.3f} s"
            for name, v in parts.items()
            if name != "total"
        )
        print(
            f"round {round_ + 1}: {len(latencies)}/{alerts} alerts mailed to the DSL: "
            f"median {statistics.median(latencies):.3f} s, p95 {p95s[-1]:.3f} s, "
            f"max {latencies[-1]:.3f} s ({where}); load {load[0]:.1f} / {load[1]:.1f} / "
            f"{load[2]:.1f}"
        )
    if p95s:
        print(
            f"Event-to-email p95 over {len(p95s)} rounds, min / median / max: {min(p95s):.3f} / "
            f"{statistics.median(p95s):.3f} / {max(p95s):.3f} s (goal < 5 s); "
            f"load {os.getloadavg()}"
        )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
