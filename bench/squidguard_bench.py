"""Decisions: Schoolgate against squidGuard on the same UT1 lists and the same requests.

    .venv/bin/python bench/squidguard_bench.py [--requests 300000] [--rounds 3] [--seed 2024]

Builds, in a temporary directory:
- a request mix (seeded): mostly unlisted hosts, some listed domains, subdomains of listed
  domains and listed URLs, written both as squid url_rewrite helper lines
  (`URL ip/fqdn ident method`, what Debian's squidGuard 1.6 reads on stdin) and as the JSON lines
  `schoolgate check --batch` reads;
- squidGuard's Berkeley DB (`squidGuard -C all`) from a squidGuard.conf blocking the UT1 folders
  that the bench policy's rule blocks;
- a Schoolgate snapshot of the same UT1 lists and that policy.

Then, for each of `--rounds` rounds (the order rotated each round, so a change in the machine's
load falls on every contestant), runs in its own process pinned to one core (`taskset -c 0`):
squidGuard; Schoolgate's category lookup alone (`mask`); Schoolgate's full `Decider.decide`
(`decide`); and `schoolgate check --batch` end to end (JSON in, JSON out, start-up included),
timed against squidGuard end to end (start-up included). Prints min / median / max of each figure
and of each ratio to squidGuard within the same round, with the load average at each run, plus
peak RSS and how often the filters agree on block/allow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UT1 = REPO.parent / "shared" / "data" / "ut1"
SQUIDGUARD = "/usr/bin/squidGuard"

# UT1 folders blocked by both filters; the Schoolgate policy blocks the categories they map to.
BLOCKED_UT1 = [
    "adult",
    "agressif",
    "gambling",
    "arjel",
    "drogue",
    "hacking",
    "malware",
    "phishing",
    "ddos",
    "dialer",
    "cryptojacking",
    "redirector",
    "vpn",
    "doh",
    "residential-proxies",
    "remote-control",
    "dangerous_material",
    "sect",
    "warez",
    "mixed_adult",
    "lingerie",
    "dating",
    "stalkerware",
]
BLOCKED_CATEGORIES = sorted(
    {
        "pornography",
        "adult",
        "hate-speech",
        "violence",
        "gambling",
        "drugs",
        "malware-hacking",
        "phishing-scams",
        "proxy",
        "vpn",
        "doh",
        "residential-proxy",
        "remote-control",
        "dangerous-material",
        "cults",
        "piracy",
        "dating",
        "stalkerware",
    }
)

BENCH_POLICY = """
schema_version: 1
school:
  id: bench-school
  name: Bench School
  policy_title: Online Safety Policy
groups:
  - {id: pupils, kind: pupil, title: Pupils, agreement_required: false, safe_search: false}
rules:
  - id: block-harmful
    groups: [pupils]
    categories: [CATEGORIES]
    action: block
    source: {section: Filtering, quote: "Harmful and inappropriate sites are blocked."}
"""


# --- the request mix ---------------------------------------------------------------------------


def _entries(kind: str) -> list[str]:
    entries: list[str] = []
    for folder in sorted(UT1.iterdir()):
        path = folder / kind
        if folder.is_dir() and path.is_file():
            entries.extend(line.strip() for line in path.open() if line.strip()[:1].isalnum())
    return entries


def _random_host(rng: random.Random) -> str:
    syllables = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 4))) for _ in "ab"]
    label = "".join(syllables) + str(rng.randint(0, 999))
    tld = rng.choice(["com", "org", "net", "co.uk", "org.uk", "io", "de", "fr", "ac.uk"])
    prefix = rng.choice(["", "", "www.", "cdn.", "api.", "static."])
    return f"{prefix}{label}-bench.{tld}"


def _random_path(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return "/"
    depth = rng.randint(1, 4)
    path = "/" + "/".join(
        rng.choice(["img", "a", "news", "v2", "search", "js", "p"]) for _ in range(depth)
    )
    return path + (f"?id={rng.randint(1, 99999)}" if rng.random() < 0.3 else "")


def make_mix(count: int, seed: int) -> list[str]:
    """URLs: 80% unlisted, 9% listed domains, 7% subdomains of listed domains, 4% listed URLs."""
    rng = random.Random(seed)
    domains = _entries("domains")
    urls = _entries("urls")
    unlisted = [_random_host(rng) for _ in range(200_000)]
    mix = []
    for _ in range(count):
        roll = rng.random()
        scheme = "https" if rng.random() < 0.7 else "http"
        if roll < 0.80:
            mix.append(f"{scheme}://{rng.choice(unlisted)}{_random_path(rng)}")
        elif roll < 0.89:
            mix.append(f"{scheme}://{rng.choice(domains)}{_random_path(rng)}")
        elif roll < 0.96:
            sub = rng.choice(["www", "m", "cdn", "img1", "login"])
            mix.append(f"{scheme}://{sub}.{rng.choice(domains)}{_random_path(rng)}")
        else:
            mix.append(f"http://{rng.choice(urls)}")
    return mix


# --- squidGuard --------------------------------------------------------------------------------


def squidguard_config(work: Path) -> Path:
    db = work / "db"
    dests = []
    for name in BLOCKED_UT1:
        shutil.copytree(UT1 / name, db / name)
        lines = [f"dest {name.replace('-', '_')} {{"]
        for kind, keyword in [
            ("domains", "domainlist"),
            ("urls", "urllist"),
            ("expressions", "expressionlist"),
        ]:
            path = db / name / kind
            if path.is_file() and path.stat().st_size > 0:
                lines.append(f"\t{keyword} {name}/{kind}")
        lines.append("}")
        dests.append("\n".join(lines))
    (work / "log").mkdir()
    blocked = " ".join(f"!{name.replace('-', '_')}" for name in BLOCKED_UT1)
    conf = work / "squidGuard.conf"
    conf.write_text(
        f"dbhome {db}\nlogdir {work / 'log'}\n\n"
        + "\n\n".join(dests)
        + f"\n\nacl {{\n\tdefault {{\n\t\tpass {blocked} all\n"
        "\t\tredirect http://block.invalid/?url=%u\n\t}\n}\n"
    )
    return conf


def _run_measured(argv: list[str], stdin: Path, stdout: Path, **kwargs) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak RSS (KiB) of a child process.

    Measured by /usr/bin/time: a child forked straight from this (large) process would inherit
    its high-water mark, so measuring with `wait4` here would report our size, not the child's.
    CPU time is the fairer figure on a shared, loaded machine: it does not count time spent
    waiting for a core.
    """
    usage_file = stdout.with_suffix(".usage")
    with stdin.open("rb") as fin, stdout.open("wb") as fout:
        started = time.perf_counter()
        process = subprocess.run(
            ["/usr/bin/time", "-f", "%M %U %S", "-o", str(usage_file), *argv],
            stdin=fin,
            stdout=fout,
            **kwargs,
        )
        elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{argv} exited with status {process.returncode}")
    rss, user, system = usage_file.read_text().split()[-3:]
    return elapsed, float(user) + float(system), int(rss)


def _pinned(argv: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *argv] if shutil.which("taskset") else argv


def bench_squidguard_run(work: Path, requests: Path, count: int) -> dict[str, object]:
    """One squidGuard run over every request (its database is built once, in `prepare`)."""
    argv = _pinned([SQUIDGUARD, "-c", str(work / "squidGuard.conf")])
    one = work / "one-request.txt"
    one.write_text(requests.open().readline())
    _, startup_cpu, _ = _run_measured(argv, one, work / "sg-one.out")
    elapsed, cpu, rss = _run_measured(argv, requests, work / "squidguard.out")
    answers = (work / "squidguard.out").read_text().splitlines()
    if len(answers) != count:
        raise RuntimeError(f"squidGuard answered {len(answers)} of {count} requests")
    return {
        "startup_cpu_s": round(startup_cpu, 3),
        "total_s": round(elapsed, 2),
        "total_cpu_s": round(cpu, 2),
        "decisions_per_cpu_s": round(count / max(cpu - startup_cpu, 1e-3)),
        "peak_rss_mib": round(rss / 1024, 1),
        "blocked": sum(a.startswith("OK rewrite-url") for a in answers),
    }


# --- Schoolgate --------------------------------------------------------------------------------


def compile_bench_snapshot(path: Path) -> float:
    from schoolgate.engine.policy.loader import parse_policy
    from schoolgate.engine.snapshot import compile_snapshot

    policy = parse_policy(
        BENCH_POLICY.replace("CATEGORIES", ", ".join(BLOCKED_CATEGORIES)), "bench.yaml"
    )
    started = time.perf_counter()
    compile_snapshot(policy, [UT1]).save(path)
    return time.perf_counter() - started


def worker(snapshot_path: Path, requests: Path, mode: str, out: Path) -> None:
    """Runs in its own process: load the snapshot, decide every request, write the verdicts."""
    from schoolgate.engine.snapshot import load_snapshot

    urls = [line.split(" ", 1)[0] for line in requests.read_text().splitlines()]
    started = time.perf_counter()
    snapshot = load_snapshot(snapshot_path)
    decide = _decide_function(snapshot, mode)
    load = time.perf_counter() - started
    started = time.process_time()
    verdicts = [decide(url) for url in urls]
    elapsed = time.process_time() - started
    out.write_text("".join("B" if blocked else "." for blocked in verdicts))
    print(json.dumps({"load_s": load, "decide_cpu_s": elapsed}))


def _decide_function(snapshot, mode: str):
    from schoolgate.engine.targets import TargetError, parse_target

    if mode == "mask":
        index = snapshot.index
        blocked_mask = index.mask(BLOCKED_CATEGORIES)

        def by_mask(url: str) -> bool:
            try:
                return bool(index.mask_for(parse_target(url)) & blocked_mask)
            except TargetError:
                return True

        return by_mask
    from datetime import datetime

    from schoolgate.engine.decide import Decider, Subject
    from schoolgate.engine.policy.schema import Action

    decider = Decider(snapshot)
    subject = Subject(group="pupils")
    moment = datetime(2025, 3, 4, 10, 30)

    def by_decider(url: str) -> bool:
        try:
            return decider.decide(subject, url, moment).action is Action.BLOCK
        except TargetError:
            return True  # the gateway fails closed on addresses it cannot read

    return by_decider


def bench_schoolgate(work: Path, requests: Path, count: int, mode: str) -> dict[str, object]:
    snapshot = work / "bench.snapshot"
    out = work / f"schoolgate-{mode}.out"
    argv = [sys.executable, __file__, "--worker", str(snapshot), str(requests), mode, str(out)]
    timings_file = work / f"schoolgate-{mode}.json"
    _, _, rss = _run_measured(_pinned(argv), Path(os.devnull), timings_file)
    timings = json.loads(timings_file.read_text())
    verdicts = out.read_text()
    return {
        "startup_s": round(timings["load_s"], 3),
        "decisions_per_cpu_s": round(count / timings["decide_cpu_s"]),
        "peak_rss_mib": round(rss / 1024, 1),
        "blocked": verdicts.count("B"),
    }


def agreement(work: Path, mode: str) -> float:
    squid = [
        a.startswith("OK rewrite-url")
        for a in (work / "squidguard.out").read_text().split("\n")
        if a
    ]
    ours = [c == "B" for c in (work / f"schoolgate-{mode}.out").read_text()]
    return sum(a == b for a, b in zip(squid, ours, strict=True)) / len(ours)


def bench_check_batch(work: Path, count: int) -> dict[str, object]:
    """`schoolgate check --batch` end to end: start-up, JSON parsing, deciding, JSON output."""
    argv = [
        str(Path(sys.executable).with_name("schoolgate")),
        "check", "--policy", str(work / "bench.yaml"), "--lists", str(UT1), "--batch",
    ]  # fmt: skip
    env = os.environ | {"SCHOOLGATE_CACHE": str(work / "cache")}
    out = work / "check-batch.out"
    elapsed, cpu, rss = _run_measured(_pinned(argv), work / "requests.jsonl", out, env=env)
    answers = out.read_bytes().count(b"\n")
    if answers != count:
        raise RuntimeError(f"check --batch answered {answers} of {count} requests")
    return {
        "total_s": round(elapsed, 2),
        "total_cpu_s": round(cpu, 2),
        "peak_rss_mib": round(rss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        snapshot, requests, mode, out = args.worker
        worker(Path(snapshot), Path(requests), mode, Path(out))
        return 0
    work = Path(tempfile.mkdtemp(prefix="sg-bench-"))
    try:
        report = run(work, args.requests, args.seed, args.rounds)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    print_summary(report)
    return 0


def prepare(work: Path, count: int, seed: int) -> dict[str, object]:
    started = time.perf_counter()
    mix = make_mix(count, seed)
    (work / "requests.txt").write_text("".join(f"{url} 10.1.2.3/- - GET\n" for url in mix))
    (work / "requests.jsonl").write_text(
        "".join(
            json.dumps({"group": "pupils", "at": "2025-03-04T10:30", "target": url}) + "\n"
            for url in mix
        )
    )
    (work / "bench.yaml").write_text(
        BENCH_POLICY.replace("CATEGORIES", ", ".join(BLOCKED_CATEGORIES))
    )
    mix_s = time.perf_counter() - started
    compile_s = compile_bench_snapshot(work / "bench.snapshot")
    conf = squidguard_config(work)
    started = time.perf_counter()
    subprocess.run([SQUIDGUARD, "-c", str(conf), "-C", "all"], check=True)
    db_build_s = time.perf_counter() - started
    warm = work / "one.jsonl"
    warm.write_text((work / "requests.jsonl").open().readline())
    env = os.environ | {"SCHOOLGATE_CACHE": str(work / "cache")}
    started = time.perf_counter()
    with warm.open("rb") as fin:  # fills check's snapshot cache, as any second run finds it
        subprocess.run(
            [str(Path(sys.executable).with_name("schoolgate")), "check", "--policy",
             str(work / "bench.yaml"), "--lists", str(UT1), "--batch"],
            stdin=fin, stdout=subprocess.DEVNULL, env=env, check=True,
        )  # fmt: skip
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "requests": count,
        "seed": seed,
        "mix_s": round(mix_s, 1),
        "schoolgate_compile_s": round(compile_s, 2),
        "check_first_run_compile_s": round(time.perf_counter() - started, 2),
        "snapshot_mib": round((work / "bench.snapshot").stat().st_size / 2**20, 1),
        "squidguard_db_build_s": round(db_build_s, 2),
    }


CONTESTANTS = ("squidguard", "schoolgate_mask", "schoolgate_decide", "check_batch")


def run(work: Path, count: int, seed: int, rounds: int) -> dict[str, object]:
    report: dict[str, object] = prepare(work, count, seed)
    requests = work / "requests.txt"
    runs: list[dict[str, dict[str, object]]] = []
    for number in range(rounds):
        order = CONTESTANTS[number % 4 :] + CONTESTANTS[: number % 4]
        results: dict[str, dict[str, object]] = {}
        for name in order:
            load = round(os.getloadavg()[0], 2)
            if name == "squidguard":
                results[name] = bench_squidguard_run(work, requests, count)
            elif name == "check_batch":
                results[name] = bench_check_batch(work, count)
            else:
                mode = name.removeprefix("schoolgate_")
                results[name] = bench_schoolgate(work, requests, count, mode)
                results[name]["agreement"] = round(agreement(work, mode), 5)
            results[name]["load_1min"] = load
        runs.append(results)
    report["rounds"] = runs
    return report


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:,.2f} / {statistics.median(ordered):,.2f} / {ordered[-1]:,.2f}"


def print_summary(report: dict[str, object]) -> None:
    runs = report["rounds"]
    print(f"\n{report['requests']:,} requests, {len(runs)} interleaved rounds; min / median / max")
    print("load (1 min) at each run:", _stats([r[n]["load_1min"] for r in runs for n in r]))
    for name in ("squidguard", "schoolgate_mask", "schoolgate_decide"):
        rates = [r[name]["decisions_per_cpu_s"] for r in runs]
        print(f"{name:>20} decisions per CPU-second: {_stats(rates)}")
    for name in ("schoolgate_mask", "schoolgate_decide"):
        ratios = [
            r[name]["decisions_per_cpu_s"] / r["squidguard"]["decisions_per_cpu_s"] for r in runs
        ]
        print(f"{name:>20} ÷ squidGuard: {_stats(ratios)}")
    for name, label in (("squidguard", "squidGuard"), ("check_batch", "check --batch")):
        print(f"{label:>20} end to end, CPU s: {_stats([r[name]['total_cpu_s'] for r in runs])}")
        print(f"{label:>20} end to end, wall s: {_stats([r[name]['total_s'] for r in runs])}")
    speed = [r["squidguard"]["total_cpu_s"] / r["check_batch"]["total_cpu_s"] for r in runs]
    print(f"{'check --batch':>20} speed ÷ squidGuard, end to end (CPU): {_stats(speed)}")
    for name in CONTESTANTS:
        print(f"{name:>20} peak RSS MiB: {_stats([r[name]['peak_rss_mib'] for r in runs])}")


if __name__ == "__main__":
    sys.exit(main())
