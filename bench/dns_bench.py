"""Schoolgate's DNS resolver beside dnsmasq and unbound, all loaded with the same UT1 blocks.

    .venv/bin/python bench/dns_bench.py [--rounds 3] [--names 40000] [--rate 5000]
        [--servers dnsmasq,unbound,schoolgate,schoolgate-python,schoolgate-no-journal]
        [--policy policies/st-thomas-more.yaml] [--lists ../shared/data/ut1]

Everything on 127.0.0.1; nothing leaves the machine:
1. compile the policy with the UT1 lists; clients on 127.0.0.0/8 are put in `--group` (by
   default the policy's first pupil group that is not a walled garden: in a walled garden every
   name is blocked, so nothing would be forwarded and the peers would do more work than
   Schoolgate); every UT1 domain the policy blocks for that group becomes a dnsmasq
   `address=/domain/0.0.0.0` line and an unbound `local-zone: redirect` with `local-data: A
   0.0.0.0` (both cover subdomains, as Schoolgate does; Schoolgate answers the block
   page's address, 127.0.0.1 by default);
2. an authoritative stub (dnsmasq, `address=/#/192.0.2.1`: it answers every name) is the upstream
   of every server, so allowed names are forwarded but never leave the machine (unbound gets
   `local-zone: "test." nodefault`: by default it answers every `*.test` name NXDOMAIN itself,
   RFC 6761, and never forwarded the allowed half before 2026-12-03 22:05);
3. query files of DISTINCT names, so no cache can carry the result: half are blocked (`qN.` in
   front of a UT1-blocked domain), half are not listed (`qN.siteM.bench.test`); every name is
   asked once (`dnsperf -n 1`), and each server process is fresh for each run;
4. per round, each server in turn (interleaved: peer, Schoolgate, peer, ...) is started pinned to
   CPU 0 (dnsperf and the stub on CPU 1), gets one flat-out run (`-q 100`) and one run limited to
   `--rate` queries/s (the p99 goal), and its resident memory is read after both;
5. before each server is stopped, its answers are checked (`--check` names: half fresh, half
   from its flat-out run; half blocked, half allowed): a blocked name must get the block address
   (0.0.0.0 from the peers, the block page's address or NXDOMAIN from Schoolgate, as the policy's
   `filtering.block_response` says), an allowed one the stub's 192.0.2.1; a wrong answer fails
   the run, so a fast wrong server cannot win;
6. after `--rounds` rounds: min / median / max of each figure (queries/s, CPU per query, p99 at
   `--rate`, resident memory, load average), and every Schoolgate variant's ratio to each peer
   round by round and of the medians.

Servers: `schoolgate` is `schoolgate dns` as shipped (journal on, the C fast lane on where it is
built; uvloop when installed), `schoolgate-python` the same with `--no-fast-lane` (issue 9: the
lane on and off measured interleaved), `schoolgate-asyncio` with `--loop asyncio` (the standard
event loop instead of uvloop), `schoolgate-no-journal` with `--no-journal`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.commands._snapshots import cached_snapshot  # noqa: E402
from schoolgate.engine.decide import Decider, Subject  # noqa: E402
from schoolgate.engine.policy.schema import Action  # noqa: E402
from schoolgate.engine.targets import Target  # noqa: E402
from schoolgate.gateway.site import BlockPage  # noqa: E402

PYTHON = REPO / ".venv" / "bin" / "python"
SERVERS = (
    "dnsmasq",
    "unbound",
    "schoolgate",
    "schoolgate-python",
    "schoolgate-asyncio",
    "schoolgate-no-journal",
)
DEFAULT_SERVERS = ("dnsmasq", "unbound", "schoolgate", "schoolgate-no-journal")
PEERS = ("unbound", "dnsmasq")
STUB_ADDRESS = "192.0.2.1"  # what the stub upstream answers for every name
PEER_BLOCK_ADDRESS = "0.0.0.0"


def free_port() -> int:
    """A port free for both UDP and TCP."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            try:
                socket.create_server(("127.0.0.1", port)).close()
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def pinned(cpu: int, command: list[str]) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + command


def wait_for_answers(
    port: int, timeout: float = 120, proc: subprocess.Popen | None = None, log: Path | None = None
) -> float:
    """Seconds until the server answers a query (its start-up time); fails at once if it exits."""
    query = (
        bytes.fromhex("abcd01000001000000000000")
        + b"\x05probe\x05bench\x04test\x00\x00\x01\x00\x01"
    )
    started = time.perf_counter()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.2)
        while time.perf_counter() - started < timeout:
            if proc is not None and proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
                raise RuntimeError(f"server exited with {proc.returncode}:\n{tail}")
            sock.sendto(query, ("127.0.0.1", port))
            try:
                sock.recv(512)
                return time.perf_counter() - started
            except OSError:
                time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


def a_query(ident: int, name: str) -> bytes:
    """A DNS query for NAME's A record, recursion desired."""
    labels = b"".join(bytes([len(x)]) + x.encode() for x in name.rstrip(".").split("."))
    return (
        ident.to_bytes(2, "big")
        + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + labels
        + b"\x00\x00\x01\x00\x01"
    )


def skip_name(message: bytes, at: int) -> int:
    """The offset after the (possibly compressed) name starting at AT."""
    while message[at]:
        if message[at] & 0xC0 == 0xC0:
            return at + 2
        at += message[at] + 1
    return at + 1


def answer_of(message: bytes) -> tuple[int, list[str]]:
    """(rcode, the A records' addresses) of a DNS response."""
    rcode = message[3] & 0x0F
    questions, answers = int.from_bytes(message[4:6], "big"), int.from_bytes(message[6:8], "big")
    at = 12
    for _ in range(questions):
        at = skip_name(message, at) + 4
    addresses = []
    for _ in range(answers):
        at = skip_name(message, at)
        rtype, length = (
            int.from_bytes(message[at : at + 2], "big"),
            int.from_bytes(message[at + 8 : at + 10], "big"),
        )
        at += 10
        if rtype == 1 and length == 4:
            addresses.append(socket.inet_ntoa(message[at : at + 4]))
        at += length
    return rcode, addresses


def ask(sock: socket.socket, port: int, ident: int, name: str) -> tuple[int, list[str]] | None:
    """One A query and its answer (rcode, addresses), or None after three unanswered tries."""
    query = a_query(ident, name)
    for _ in range(3):
        sock.sendto(query, ("127.0.0.1", port))
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                message = sock.recv(4096)
            except OSError:
                break
            if message[:2] == query[:2] and message[12 : 12 + len(query) - 12] == query[12:]:
                return answer_of(message)
    return None


def check_answers(port: int, names: list[str], blocked_answer: tuple[int, list[str]]) -> dict:
    """Ask NAMES one by one; a blocked name must get BLOCKED_ANSWER, an allowed one the stub's.

    Allowed names are the `.bench.test` ones (the stub answers them); every other name is under
    a domain the policy blocks for the bench's group. Returns the count checked, the count
    answered wrongly (or not at all) and the first few wrong answers.
    """
    wrong: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(1.0)
        for ident, name in enumerate(names):
            allowed = name.endswith(".bench.test")
            expected = (0, [STUB_ADDRESS]) if allowed else blocked_answer
            got = ask(sock, port, ident & 0xFFFF, name)
            if got != expected:
                wrong.append(f"{name}: got {got}, expected {expected}")
    return {"checked": len(names), "wrong": len(wrong), "examples": wrong[:5]}


def resident_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) / 1024


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds the process and its threads have used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / ticks, int(fields[12]) / ticks


def cpu_ticks() -> dict[str, tuple[int, int]]:
    """(busy, total) jiffies of each CPU so far, from /proc/stat."""
    out = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *fields = line.split()
        if name.startswith("cpu") and name != "cpu":
            ticks = [int(f) for f in fields[:8]]
            out[name] = (sum(ticks) - ticks[3] - ticks[4], sum(ticks))  # less idle and iowait
    return out


def busy_percent(before: dict, after: dict) -> dict[str, int]:
    """How busy each CPU was between two `cpu_ticks()`: cpu1 near 100 means dnsperf and the stub,
    not the server on cpu0, set the pace."""
    return {
        cpu: round(100 * (after[cpu][0] - busy) / max(1, after[cpu][1] - total))
        for cpu, (busy, total) in before.items()
    }


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


def unbound_conf(work: Path, port: int, upstream: int, zones: Path) -> Path:
    conf = work / f"unbound-{port}.conf"
    conf.write_text(
        "server:\n"
        f"  interface: 127.0.0.1\n  port: {port}\n  do-ip6: no\n"
        "  access-control: 127.0.0.0/8 allow\n  num-threads: 1\n"
        '  do-daemonize: no\n  use-syslog: no\n  logfile: ""\n  chroot: ""\n  username: ""\n'
        f'  directory: "{work}"\n  pidfile: ""\n  module-config: "iterator"\n'
        "  do-not-query-localhost: no\n  qname-minimisation: no\n  verbosity: 0\n"
        "  msg-cache-size: 32m\n  rrset-cache-size: 64m\n"
        # unbound serves test. itself by default (RFC 6761: NXDOMAIN for every name); without
        # this it never forwarded the allowed half (`*.bench.test`), as the others must
        '  local-zone: "test." nodefault\n'
        f'  include: "{zones}"\n'
        'forward-zone:\n  name: "."\n'
        f"  forward-addr: 127.0.0.1@{upstream}\n"
    )
    return conf


def dnsperf(port: int, queries: Path, rate: int | None = None) -> dict:
    command = ["dnsperf", "-s", "127.0.0.1", "-p", str(port), "-d", str(queries)]
    command += ["-n", "1", "-t", "2", "-v"]
    if rate:
        command += ["-Q", str(rate)]
    out = subprocess.run(pinned(1, command), capture_output=True, text=True, check=True).stdout
    latencies = sorted(float(m) for m in re.findall(r"^> \S+ \S+ \S+ ([0-9.]+)$", out, re.M))
    qps = float(re.search(r"Queries per second:\s+([0-9.]+)", out).group(1))
    lost = int(re.search(r"Queries lost:\s+(\d+)", out).group(1))
    answered = int(re.search(r"Queries completed:\s+(\d+)", out).group(1))
    codes = re.search(r"Response codes:\s+(.*)$", out, re.M)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return {
        "qps": round(qps),
        "lost": lost,
        "answered": answered,
        "p50_ms": round(pct(50), 3),
        "p99_ms": round(pct(99), 3),
        "rcodes": codes.group(1).strip() if codes else "",
        # every bench name is answered NOERROR (blocked: the block address; allowed: the stub's)
        "not_noerror": sum(
            int(n)
            for code, n in re.findall(r"(\w+) (\d+) \(", codes.group(1) if codes else "")
            if code != "NOERROR"
        ),
    }


def build_inputs(args: argparse.Namespace, work: Path) -> dict:
    started = time.perf_counter()
    snapshot = cached_snapshot(args.policy, args.lists)
    snapshot.save(work / "school.sgs")
    decider = Decider(snapshot)
    args.group = args.group or bench_group(decider)
    args.nxdomain = decider.policy.filtering.block_response == "nxdomain"
    subject = Subject(group=args.group)
    now = datetime.now(UTC)
    blocked = [
        d
        for d in snapshot.index.domains
        if decider.decide(subject, Target(host=d), now).action is Action.BLOCK
    ]
    prepared = time.perf_counter() - started
    (work / "dnsmasq-blocks.conf").write_text("".join(f"address=/{d}/0.0.0.0\n" for d in blocked))
    (work / "unbound-blocks.conf").write_text(
        "".join(f'local-zone: "{d}." redirect\nlocal-data: "{d}. A 0.0.0.0"\n' for d in blocked)
    )
    rng = random.Random(42)
    counter = iter(range(10**9))

    def distinct_names(count: int, prefix: str = "q") -> list[str]:
        names = []
        for _ in range(count // 2):
            names.append(f"{prefix}{next(counter)}.{rng.choice(blocked)}")
            names.append(f"{prefix}{next(counter)}.site{rng.randrange(1000)}.bench.test")
        rng.shuffle(names)
        return names

    for round_ in range(args.rounds):
        for server in args.servers:
            for kind, count in (("full", args.names), ("rate", args.rate * args.rate_seconds)):
                path = work / f"q-{round_}-{server}-{kind}.txt"
                path.write_text("".join(f"{n} A\n" for n in distinct_names(count)))
            # half fresh names (never asked), half asked in the flat-out run (the cache's path)
            full = (work / f"q-{round_}-{server}-full.txt").read_text().split()[::2]
            check = distinct_names(args.check // 2, "check") + rng.sample(full, args.check // 2)
            (work / f"check-{round_}-{server}.txt").write_text("".join(f"{n}\n" for n in check))
    return {
        "group": args.group,
        "fast_lane": fast_lane_state(decider),
        "block_response": "nxdomain" if args.nxdomain else "block-page",
        "list_domains": len(snapshot.index.domains),
        "blocked_domains_loaded": len(blocked),
        "names_per_full_run": args.names,
        "names_per_rate_run": args.rate * args.rate_seconds,
        "names_checked_per_run": 2 * (args.check // 2),
        "prepare_s": round(prepared, 1),
    }


def fast_lane_state(decider: Decider) -> str:
    """Whether `schoolgate` will run its C fast lane for this snapshot: it falls back to the
    handler chain silently when the extension is not built (or is older than its source) or the
    snapshot does not allow it (`fastlane.enabled_for`), and the figures would then be Python's."""
    try:
        from schoolgate.gateway.dns import fastlane
    except ImportError:
        return "absent (no fastlane.py)"
    if not fastlane.available():
        return "off: _fastlane not built (pip install -e .) or SCHOOLGATE_DNS_FAST_LANE=0"
    source = Path(fastlane.__file__).with_name("_fastlane.c")
    built = Path(fastlane._fastlane.__file__)
    if source.exists() and source.stat().st_mtime > built.stat().st_mtime:
        return "stale: _fastlane.c is newer than its build (pip install -e . again)"
    if not fastlane.enabled_for(decider):
        return "off for this snapshot (periods off the minute, or an expression without a literal)"
    return "on"


def bench_group(decider: Decider) -> str:
    """The first pupil group that is not a walled garden (it forwards the names no list has)."""
    groups = decider.policy.groups
    open_groups = [g for g in groups if not g.walled_garden]
    pupils = [g for g in open_groups if g.kind == "pupil"]
    return (pupils or open_groups or groups)[0].id


def blocked_answer(server: str, args: argparse.Namespace) -> tuple[int, list[str]]:
    """(rcode, A addresses) SERVER must give for a blocked name."""
    if server in PEERS:
        return 0, [PEER_BLOCK_ADDRESS]
    if args.nxdomain:
        return 3, []
    return 0, [str(BlockPage().ipv4)]  # `schoolgate dns` without --site: the default block page


def start(
    server: str, work: Path, upstream: int, args: argparse.Namespace
) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if server == "dnsmasq":
        command = dnsmasq(
            port,
            f"--conf-file={work / 'dnsmasq-blocks.conf'}",
            f"--server=127.0.0.1#{upstream}",
            "--cache-size=10000",
        )
    elif server == "unbound":
        conf = unbound_conf(work, port, upstream, work / "unbound-blocks.conf")
        command = ["unbound", "-d", "-c", str(conf)]
    else:
        command = [str(PYTHON), "-m", "schoolgate", "dns", "--snapshot", str(work / "school.sgs")]
        command += ["--listen", f"127.0.0.1:{port}", "--upstream", f"127.0.0.1:{upstream}"]
        command += ["--subnet", f"127.0.0.0/8={args.group}"]
        if server == "schoolgate-no-journal":
            command += ["--no-journal"]
        else:
            journal = work / f"journal-{server}"
            shutil.rmtree(journal, ignore_errors=True)
            command += ["--journal", str(journal)]
        if server == "schoolgate-python":
            command += ["--no-fast-lane"]
        if server == "schoolgate-asyncio":
            command += ["--loop", "asyncio"]
    log = (work / f"{server}.log").open("wb")
    proc = subprocess.Popen(pinned(0, command), stdout=log, stderr=subprocess.STDOUT)
    log.close()
    return proc, port


def one_run(server: str, work: Path, upstream: int, round_: int, args: argparse.Namespace) -> dict:
    rate = args.rate
    load_before = os.getloadavg()[0]
    proc, port = start(server, work, upstream, args)
    try:
        startup = wait_for_answers(port, proc=proc, log=work / f"{server}.log")
        user, system = cpu_seconds(proc.pid)  # taskset execs the server
        ticks = cpu_ticks()
        full = dnsperf(port, work / f"q-{round_}-{server}-full.txt")
        busy = busy_percent(ticks, cpu_ticks())
        user_after, system_after = cpu_seconds(proc.pid)  # taskset execs the server
        limited = dnsperf(port, work / f"q-{round_}-{server}-rate.txt", rate=rate)
        rss = resident_mib(proc.pid)
        names = (work / f"check-{round_}-{server}.txt").read_text().split()
        checked = check_answers(port, names, blocked_answer(server, args))
    finally:
        proc.terminate()
        proc.wait(30)

    def per_query(seconds: float) -> float:
        return round(seconds / max(1, full["answered"]) * 1e6, 1)

    return {
        "startup_s": round(startup, 2),
        "qps": full["qps"],
        "lost": full["lost"] + limited["lost"],
        "p50_ms_full": full["p50_ms"],
        "p99_ms_full": full["p99_ms"],
        # CPU time of the server per answered query in the flat-out run (all its threads):
        # what the machine's load moves least (issue 8: journal on vs off).
        "cpu_us_per_query": per_query(user_after + system_after - user - system),
        "user_us_per_query": per_query(user_after - user),
        "sys_us_per_query": per_query(system_after - system),
        # the machine's CPUs during the flat-out run: cpu0 the server, cpu1 dnsperf and the stub
        "cpu0_busy_pct": busy.get("cpu0", -1),
        "cpu1_busy_pct": busy.get("cpu1", -1),
        "qps_at_rate": limited["qps"],
        "p50_ms_at_rate": limited["p50_ms"],
        "p99_ms_at_rate": limited["p99_ms"],
        "rss_mib": round(rss, 1),
        "load": round(max(load_before, os.getloadavg()[0]), 1),
        "answers_checked": checked["checked"],
        "answers_wrong": checked["wrong"],
        "wrong_examples": checked["examples"],
        "rcodes_full": full["rcodes"],
        "rcodes_at_rate": limited["rcodes"],
        "not_noerror": full["not_noerror"] + limited["not_noerror"],
    }


def summary(runs: list[dict]) -> dict:
    return {
        key: {
            "min": min(r[key] for r in runs),
            "median": statistics.median(r[key] for r in runs),
            "max": max(r[key] for r in runs),
        }
        for key in runs[0]
        if isinstance(runs[0][key], int | float)
    }


def by_round(runs: dict[str, list[dict]]) -> dict:
    """Each Schoolgate variant over each other server, round by round, with the median.

    q/s: ours over theirs (>= 1.0 is the issue 9 goal against unbound); CPU: theirs over ours,
    the q/s ratio a CPU-bound server would reach.
    """
    out = {}
    ours = [s for s in runs if s.startswith("schoolgate")]
    for mine in ours:
        for other in runs:
            if other == mine or (other in ours and mine != "schoolgate"):
                continue
            pairs = list(zip(runs[mine], runs[other], strict=True))
            qps = [round(a["qps"] / b["qps"], 2) for a, b in pairs]
            cpu = [round(b["cpu_us_per_query"] / a["cpu_us_per_query"], 2) for a, b in pairs]
            out[f"{mine}_over_{other}"] = {
                "qps": qps,
                "qps_median": statistics.median(qps),
                "cpu": cpu,
                "cpu_median": statistics.median(cpu),
            }
    return out


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="dns-bench-"))
    upstream_proc = None
    try:
        results: dict = {"inputs": build_inputs(args, work)}
        results["load_average_at_start"] = [round(x, 1) for x in os.getloadavg()]
        upstream = free_port()
        stub = dnsmasq(upstream, f"--address=/#/{STUB_ADDRESS}", "--local-ttl=3600")
        upstream_proc = subprocess.Popen(pinned(1, stub), stderr=subprocess.DEVNULL)
        wait_for_answers(upstream)
        runs: dict[str, list[dict]] = {server: [] for server in args.servers}
        for round_ in range(args.rounds):
            for server in args.servers:
                outcome = one_run(server, work, upstream, round_, args)
                runs[server].append(outcome)
                print(f"round {round_ + 1} {server}: {json.dumps(outcome)}", file=sys.stderr)
        results["runs"] = runs
        results["summary"] = {server: summary(r) for server, r in runs.items()}
        results["ratios_of_medians"] = ratios(results["summary"])
        results["ratios_by_round"] = by_round(runs)
        if "schoolgate" in runs and "schoolgate-no-journal" in runs:
            pairs = list(zip(runs["schoolgate"], runs["schoolgate-no-journal"], strict=True))
            results["journal_on_over_off_by_round"] = {
                "qps": [round(on["qps"] / off["qps"], 2) for on, off in pairs],
                # off's CPU per query over on's: the q/s ratio a CPU-bound server would reach
                "cpu": [
                    round(off["cpu_us_per_query"] / on["cpu_us_per_query"], 2) for on, off in pairs
                ],
            }
        results["answers_wrong"] = {s: sum(r["answers_wrong"] for r in runs[s]) for s in runs}
        results["not_noerror"] = {s: sum(r["not_noerror"] for r in runs[s]) for s in runs}
        results["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    finally:
        if upstream_proc is not None:
            upstream_proc.terminate()
            upstream_proc.wait()
        shutil.rmtree(work, ignore_errors=True)
    return results


def ratios(summaries: dict) -> dict:
    """Ratios of the medians: each Schoolgate variant's q/s over the peers', and the lane's gain."""

    def median(server: str, key: str) -> float | None:
        return summaries[server][key]["median"] if server in summaries else None

    pairs = [(mine, peer) for mine in ("schoolgate", "schoolgate-python") for peer in PEERS]
    pairs += [("schoolgate", "schoolgate-python"), ("schoolgate", "schoolgate-no-journal")]
    out = {}
    for mine, other in pairs:
        ours, theirs = median(mine, "qps"), median(other, "qps")
        if ours and theirs:
            out[f"{mine}_qps_over_{other}"] = round(ours / theirs, 2)
    ours_rss, unbound_rss = median("schoolgate", "rss_mib"), median("unbound", "rss_mib")
    if ours_rss and unbound_rss:
        out["schoolgate_rss_over_unbound"] = round(ours_rss / unbound_rss, 2)
    return out


def table(results: dict) -> str:
    """The summary as a Markdown table (min / median / max), for docs/benchmarks.md."""
    rows = [
        "| server | queries/s flat out | CPU µs per query (user+sys) | p99 at rate | resident MiB "
        "| load | wrong answers | not NOERROR |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def mmm(figures: dict, key: str, fmt: str) -> str:
        return " / ".join(format(figures[key][k], fmt) for k in ("min", "median", "max"))

    for server, figures in results["summary"].items():
        rows.append(
            f"| {server} | {mmm(figures, 'qps', ',')} | {mmm(figures, 'cpu_us_per_query', '.1f')} "
            f"| {mmm(figures, 'p99_ms_at_rate', '.2f')} ms | {mmm(figures, 'rss_mib', '.1f')} "
            f"| {mmm(figures, 'load', '.1f')} | {results['answers_wrong'][server]} of "
            f"{sum(r['answers_checked'] for r in results['runs'][server])} "
            f"| {results['not_noerror'][server]} |"
        )
    for name, ratio in results["ratios_by_round"].items():
        rows.append(
            f"\n{name}: q/s by round {ratio['qps']} (median {ratio['qps_median']}); "
            f"CPU by round {ratio['cpu']} (median {ratio['cpu_median']})"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, default=REPO / "policies" / "st-thomas-more.yaml")
    parser.add_argument("--lists", type=Path, action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--names", type=int, default=40_000, help="names per flat-out run")
    parser.add_argument("--rate", type=int, default=5000, help="queries/s of the limited run")
    parser.add_argument("--rate-seconds", type=int, default=5)
    parser.add_argument("--check", type=int, default=400, help="answers checked per run")
    parser.add_argument("--servers", default=",".join(DEFAULT_SERVERS))
    parser.add_argument(
        "--group", help="the policy group of the benchmark's clients (default: see step 1)"
    )
    args = parser.parse_args()
    args.lists = args.lists or [REPO.parent / "shared" / "data" / "ut1"]
    args.servers = [s for s in args.servers.split(",") if s]
    unknown = set(args.servers) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers {sorted(unknown)}; choose from {list(SERVERS)}")
    results = run(args)
    print(json.dumps(results, indent=2))
    print(table(results), file=sys.stderr)
    if any(results["answers_wrong"].values()) or any(results["not_noerror"].values()):
        sys.exit(
            f"wrong answers: {results['answers_wrong']} (see wrong_examples in the runs); "
            f"responses other than NOERROR: {results['not_noerror']} (rcodes in the runs)"
        )


if __name__ == "__main__":
    main()
