"""Schoolgate's DNS resolver beside dnsmasq, both loaded with the same UT1 blocks, under dnsperf.

    .venv/bin/python bench/dns_bench.py [--policy policies/st-thomas-more.yaml]
        [--lists ../shared/data/ut1] [--seconds 20]

One run, everything on 127.0.0.1:
1. compile the policy with the UT1 lists; every UT1 domain the policy blocks for the default group
   becomes a dnsmasq `address=/domain/0.0.0.0` line (covers subdomains, like Schoolgate);
2. a local upstream (a second dnsmasq answering `*.bench.test` from memory, TTL 3600) serves the
   allowed names, so nothing leaves the machine;
3. a query file mixes blocked names (half of them as `www.` subdomains) and allowed names;
4. dnsmasq and then Schoolgate (each pinned to CPU 0 with taskset; dnsperf and the upstream on
   CPU 1) get `dnsperf -l SECONDS` flat out (-q 100 outstanding), then a second run limited to
   half of dnsmasq's rate (`-Q`), the goal's "at that rate"; latency percentiles come from
   dnsperf's per-query latencies (`-v`).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.commands._snapshots import cached_snapshot  # noqa: E402
from schoolgate.engine.decide import Decider, Subject  # noqa: E402
from schoolgate.engine.policy.schema import Action  # noqa: E402
from schoolgate.engine.urls import Target  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cpu: int, command: list[str]) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + command


def wait_for_answers(port: int, timeout: float = 60) -> float:
    """Seconds until the server answers a query (its start-up time)."""
    query = (
        bytes.fromhex("abcd01000001000000000000")
        + b"\x05probe\x05bench\x04test\x00\x00\x01\x00\x01"
    )
    started = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.perf_counter() - started < timeout:
            sock.sendto(query, ("127.0.0.1", port))
            try:
                sock.recv(512)
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


def dnsmasq(port: int, *options: str) -> list[str]:
    return [
        "dnsmasq",
        "--no-daemon",
        "--port",
        str(port),
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        *options,
    ]


def dnsperf(port: int, queries: Path, seconds: int, rate: int | None = None) -> dict:
    command = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries)]
    command += ["-l", str(seconds), "-v"]
    if rate:
        command += ["-Q", str(rate)]
    out = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    latencies = sorted(float(m) for m in re.findall(r"^> \S+ \S+ \S+ ([0-9.]+)$", out, re.M))
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    lost = re.search(r"Queries lost:\s+(\d+)", out).group(1)
    codes = re.search(r"Response codes:\s+(.*)", out).group(1)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "command": " ".join(command),
        "qps": round(qps),
        "lost": int(lost),
        "codes": codes,
        "avg_ms": round(statistics.fmean(latencies) * 1000, 3),
        "p50_ms": round(pct(50), 3),
        "p90_ms": round(pct(90), 3),
        "p99_ms": round(pct(99), 3),
        "max_ms": round(latencies[-1] * 1000, 3),
    }


def build_inputs(args: argparse.Namespace, work: Path) -> tuple[Path, Path, Path, dict]:
    started = time.perf_counter()
    snapshot = cached_snapshot(args.policy, args.lists)
    snapshot_path = work / "school.sgs"
    snapshot.save(snapshot_path)
    decider = Decider(snapshot)
    subject = Subject()
    compiled = time.perf_counter() - started
    started = time.perf_counter()
    blocked = [
        d
        for d in snapshot.index.domains
        if decider.decide(subject, Target(host=d)).action is Action.BLOCK
    ]
    decided = time.perf_counter() - started
    conf = work / "blocks.conf"
    conf.write_text("".join(f"address=/{d}/0.0.0.0\n" for d in blocked))
    rng = random.Random(42)
    sample = rng.sample(blocked, min(args.blocked, len(blocked)))
    names = [("www." + d if i % 2 else d) for i, d in enumerate(sample)]
    names += [f"host{i}.bench.test" for i in range(args.allowed)]
    rng.shuffle(names)
    queries = work / "queries.txt"
    queries.write_text("".join(f"{n} A\n" for n in names))
    info = {
        "list_domains": len(snapshot.index.domains),
        "blocked_domains_loaded": len(blocked),
        "query_names": len(names),
        "blocked_query_names": len(sample),
        "compile_or_load_s": round(compiled, 2),
        "classify_all_domains_s": round(decided, 2),
    }
    return snapshot_path, conf, queries, info


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="dns-bench-"))
    snapshot, conf, queries, info = build_inputs(args, work)
    processes: list[subprocess.Popen] = []
    results: dict = {"inputs": info}
    try:
        upstream_port = free_port()
        upstream = dnsmasq(upstream_port, "--address=/bench.test/192.0.2.1", "--local-ttl=3600")
        processes.append(subprocess.Popen(pinned(1, upstream), stderr=subprocess.DEVNULL))
        wait_for_answers(upstream_port)

        port = free_port()
        tested = dnsmasq(
            port, f"--conf-file={conf}", f"--server=127.0.0.1#{upstream_port}", "--cache-size=10000"
        )
        proc = subprocess.Popen(pinned(0, tested), stderr=subprocess.DEVNULL)
        processes.append(proc)
        startup = wait_for_answers(port)
        full = dnsperf(port, queries, args.seconds)
        results["dnsmasq"] = {"startup_s": round(startup, 2), "full_speed": full}
        proc.terminate()
        proc.wait()

        target_rate = full["qps"] // 2
        port = free_port()
        command = [str(PYTHON), "-m", "schoolgate", "dns", "--snapshot", str(snapshot)]
        command += ["--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{upstream_port}"]
        command += ["--journal", str(work / "journal")]
        proc = subprocess.Popen(pinned(0, command), stdout=subprocess.DEVNULL)
        processes.append(proc)
        startup = wait_for_answers(port)
        full = dnsperf(port, queries, args.seconds)
        at_rate = dnsperf(port, queries, args.seconds, rate=target_rate)
        results["schoolgate"] = {
            "startup_s": round(startup, 2),
            "full_speed": full,
            "at_half_dnsmasq_rate": at_rate,
        }
        journal_bytes = sum(p.stat().st_size for p in (work / "journal").glob("*.jnl"))
        results["schoolgate"]["journal_mb"] = round(journal_bytes / 1e6, 1)
        results["goal"] = {
            "half_of_dnsmasq_qps": target_rate,
            "qps_ratio": round(full["qps"] / results["dnsmasq"]["full_speed"]["qps"], 3),
            "met_qps": full["qps"] >= target_rate,
            "met_p99_under_5ms_at_rate": at_rate["p99_ms"] < 5 and at_rate["lost"] == 0,
        }
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.terminate()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, default=REPO / "policies" / "st-thomas-more.yaml")
    parser.add_argument("--lists", type=Path, action="append")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--blocked", type=int, default=5000)
    parser.add_argument("--allowed", type=int, default=5000)
    args = parser.parse_args()
    args.lists = args.lists or [REPO.parent / "shared" / "data" / "ut1"]
    print(json.dumps(run(args), indent=2))


if __name__ == "__main__":
    main()
