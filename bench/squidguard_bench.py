"""Category lookups: Schoolgate against squidGuard on the same UT1 lists and the same requests.

    .venv/bin/python bench/squidguard_bench.py [--requests 1000000] [--seed 2024]

Builds, in a temporary directory:
- a 1,000,000-request mix (seeded): mostly unlisted hosts, some listed domains, subdomains of
  listed domains and listed URLs, written as squid url_rewrite helper lines
  (`URL ip/fqdn ident method`, what Debian's squidGuard 1.6 reads on stdin);
- squidGuard's Berkeley DB (`squidGuard -C all`) from a squidGuard.conf blocking the UT1 folders
  that the bench policy's rule blocks;
- a Schoolgate snapshot of the same UT1 lists and that policy.

Then runs each in its own process, one core (`taskset -c 0` when available), and reports
start-up time, decisions per second and peak RSS, plus how often the two agree on block/allow.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
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


def _run_measured(argv: list[str], stdin: Path, stdout: Path) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of a child process.

    RSS comes from /usr/bin/time: a child forked straight from this (large) process would inherit
    its high-water mark, so measuring with `wait4` here would report our size, not the child's.
    """
    rss_file = stdout.with_suffix(".rss")
    with stdin.open("rb") as fin, stdout.open("wb") as fout:
        started = time.perf_counter()
        process = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv], stdin=fin, stdout=fout
        )
        elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{argv} exited with status {process.returncode}")
    return elapsed, int(rss_file.read_text().split()[-1])


def _pinned(argv: list[str]) -> list[str]:
    return ["taskset", "-c", "0", *argv] if shutil.which("taskset") else argv


def bench_squidguard(work: Path, requests: Path, count: int) -> dict[str, object]:
    conf = squidguard_config(work)
    started = time.perf_counter()
    subprocess.run([SQUIDGUARD, "-c", str(conf), "-C", "all"], check=True)
    build = time.perf_counter() - started
    one = work / "one-request.txt"
    one.write_text(requests.open().readline())
    startup, _ = _run_measured(_pinned([SQUIDGUARD, "-c", str(conf)]), one, work / "sg-one.out")
    elapsed, rss = _run_measured(
        _pinned([SQUIDGUARD, "-c", str(conf)]), requests, work / "squidguard.out"
    )
    answers = (work / "squidguard.out").read_text().splitlines()
    if len(answers) != count:
        raise RuntimeError(f"squidGuard answered {len(answers)} of {count} requests")
    return {
        "db_build_s": round(build, 2),
        "startup_s": round(startup, 3),
        "total_s": round(elapsed, 2),
        "decisions_per_s": round(count / (elapsed - startup)),
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
    started = time.perf_counter()
    verdicts = [decide(url) for url in urls]
    elapsed = time.perf_counter() - started
    out.write_text("".join("B" if blocked else "." for blocked in verdicts))
    print(json.dumps({"load_s": load, "decide_s": elapsed}))


def _decide_function(snapshot, mode: str):
    from schoolgate.engine.urls import TargetError, parse_target

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
    _, rss = _run_measured(_pinned(argv), Path(os.devnull), timings_file)
    timings = json.loads(timings_file.read_text())
    verdicts = out.read_text()
    return {
        "startup_s": round(timings["load_s"], 3),
        "total_s": round(timings["decide_s"] + timings["load_s"], 2),
        "decisions_per_s": round(count / timings["decide_s"]),
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
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
        report = run(work, args.requests, args.seed)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


def run(work: Path, count: int, seed: int) -> dict[str, object]:
    started = time.perf_counter()
    mix = make_mix(count, seed)
    requests = work / "requests.txt"
    requests.write_text("".join(f"{url} 10.1.2.3/- - GET\n" for url in mix))
    report: dict[str, object] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "requests": count,
        "seed": seed,
        "mix_s": round(time.perf_counter() - started, 1),
        "schoolgate_compile_s": round(compile_bench_snapshot(work / "bench.snapshot"), 2),
        "snapshot_mib": round((work / "bench.snapshot").stat().st_size / 2**20, 1),
        "squidguard": bench_squidguard(work, requests, count),
    }
    for mode in ("mask", "decide"):
        report[f"schoolgate_{mode}"] = bench_schoolgate(work, requests, count, mode)
        report[f"agreement_{mode}"] = round(agreement(work, mode), 5)
    return report


if __name__ == "__main__":
    sys.exit(main())
