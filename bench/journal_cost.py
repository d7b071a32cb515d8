"""What the journal costs the DNS resolver per query, as CPU time (load-independent enough to
compare on a shared machine) — the in-process companion of `dns_bench.py`'s journal on/off run.

    .venv/bin/python bench/journal_cost.py [--rounds 5] [--queries 20000] [--batch 16]

The resolver is built as `schoolgate dns` builds it (St Thomas More policy, the shared UT1 lists,
the default site's safe search and DoH lists); the same distinct names as `dns_bench.py` (half
`qN.<UT1-blocked domain>`, half `qN.siteM.bench.test`, each asked once) go through
`Resolver.handle` in batches of `--batch` datagrams, each batch followed by `hand_over()` (what
the UDP transport does per wake-up). Answers that need the upstream are not awaited (their
coroutine is closed): the upstream costs the same with the journal on or off. Journal on (a
real `JournalWriter` on disk, fsync thread running) and off alternate, `--rounds` times; the
figure is microseconds of process CPU time per query, min / median / max, and the difference.

`--callgrind` runs the whole script once with the journal on and once off under
`valgrind --tool=callgrind` (with the tests' small policy, so it loads in seconds: the journal's
work per query does not depend on the lists); set-up is identical, so the difference in
instructions divided by `--queries` is the journal's cost per query (a figure the machine's load
cannot move). Kernel work (the `write()` itself) is not counted: see the CPU-time figures.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

import dns.message  # noqa: E402

from schoolgate.commands._snapshots import cached_snapshot  # noqa: E402
from schoolgate.engine.decide import Decider, Subject  # noqa: E402
from schoolgate.engine.policy.schema import Action  # noqa: E402
from schoolgate.engine.targets import Target  # noqa: E402
from schoolgate.events.journal import JournalWriter  # noqa: E402
from schoolgate.gateway.asking import WhoIsAsking  # noqa: E402
from schoolgate.gateway.identity import Identity  # noqa: E402
from schoolgate.gateway.reload import SnapshotHolder  # noqa: E402
from schoolgate.gateway.services import dns_resolver  # noqa: E402
from schoolgate.gateway.site import SiteConfig  # noqa: E402


def packets(snapshot, count: int, seed: int) -> list[bytes]:
    decider, subject, now = Decider(snapshot), Subject(), datetime.now(UTC)
    rng = random.Random(seed)
    domains = sorted(snapshot.index.domains)
    blocked: list[str] = []
    for _ in range(200_000):
        domain = rng.choice(domains)
        if decider.decide(subject, Target(host=domain), now).action is Action.BLOCK:
            blocked.append(domain)
        if len(blocked) >= 2000:
            break
    names = []
    for i in range(count // 2):
        names.append(f"q{seed}-{i}.{rng.choice(blocked)}")
        names.append(f"q{seed}-{i}.site{rng.randrange(1000)}.bench.test")
    rng.shuffle(names)
    return [dns.message.make_query(n, "A").to_wire() for n in names]


def one_pass(snapshot, queries: list[bytes], journal_dir: Path | None, batch: int) -> float:
    """CPU microseconds per query for one fresh resolver."""
    site = SiteConfig()
    holder = SnapshotHolder(snapshot=snapshot)
    journal = JournalWriter(journal_dir) if journal_dir is not None else None
    resolver = dns_resolver(
        site.dns,
        holder,
        who=WhoIsAsking(Identity.from_site(site).identify),
        journal=journal,
        block_page=site.block_page,
    )
    handle, hand_over = resolver.handle, resolver.hand_over
    gc.collect()
    gc.freeze()  # as `schoolgate dns` does once the snapshot is loaded
    try:
        started = time.process_time()
        for start in range(0, len(queries), batch):
            for data in queries[start : start + batch]:
                reply = handle(data, "10.20.1.17")
                if reply.later is not None:
                    reply.later.close()
            hand_over()
        spent = time.process_time() - started
    finally:
        holder.stop()
        if journal is not None:
            journal.close()
    return spent / len(queries) * 1e6


def spread(values: list[float], digits: int = 1) -> str:
    low, mid, high = min(values), statistics.median(values), max(values)
    return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, default=REPO / "policies" / "st-thomas-more.yaml")
    parser.add_argument("--lists", type=Path, action="append")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--queries", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--callgrind", action="store_true")
    parser.add_argument("--mode", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    lists = args.lists or [REPO.parent / "shared" / "data" / "ut1"]
    if args.callgrind and args.mode is None:
        return callgrind(args)
    if args.mode is not None:  # under valgrind: the tests' small policy loads in seconds
        sys.path.insert(0, str(REPO))
        from tests.gateway.policy_fixtures import make_snapshot

        snapshot = make_snapshot(Path(tempfile.mkdtemp(prefix="journal-cost-lists-")))
    else:
        snapshot = cached_snapshot(args.policy, lists)
    work = Path(tempfile.mkdtemp(prefix="journal-cost-"))
    try:
        if args.mode is not None:  # one pass, for callgrind
            queries = packets(snapshot, args.queries, 1)
            one_pass(snapshot, queries, work / "j" if args.mode == "on" else None, args.batch)
            return None
        on: list[float] = []
        off: list[float] = []
        for round_ in range(args.rounds):
            queries = packets(snapshot, args.queries, round_)
            for mode in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
                journal = work / f"j{round_}" if mode == "on" else None
                (on if mode == "on" else off).append(
                    one_pass(snapshot, queries, journal, args.batch)
                )
            print(f"round {round_ + 1}: on {on[-1]:.1f} µs, off {off[-1]:.1f} µs, "
                  f"cost {on[-1] - off[-1]:.1f} µs/query, off/on {off[-1] / on[-1]:.2f}; "
                  f"load {os.getloadavg()[0]:.1f}", file=sys.stderr)  # fmt: skip
        costs = [a - b for a, b in zip(on, off, strict=True)]
        ratios = [b / a for a, b in zip(on, off, strict=True)]
        print(f"{args.rounds} rounds of {args.queries:,} distinct names, batches of {args.batch}; "
              f"load average {os.getloadavg()}")  # fmt: skip
        print(f"  CPU µs/query, journal on : {spread(on)}  (min / median / max)")
        print(f"  CPU µs/query, journal off: {spread(off)}")
        print(f"  journal cost µs/query    : {spread(costs)}")
        print(f"  off/on (CPU-bound q/s ratio): {spread(ratios, 2)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return None


def callgrind(args: argparse.Namespace) -> None:
    counts = {}
    for mode in ("on", "off"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "cg.out"
            command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
            command += [sys.executable, __file__, "--mode", mode]
            command += ["--queries", str(args.queries), "--batch", str(args.batch)]
            subprocess.run(command, check=True, capture_output=True)
            summary = [ln for ln in out.read_text().splitlines() if ln.startswith("summary:")]
            counts[mode] = int(summary[0].split()[1])
    for mode, count in counts.items():
        print(f"journal {mode}: {count:,} instructions in all ({args.queries:,} queries)")
    print(f"journal cost: {(counts['on'] - counts['off']) / args.queries:,.0f} instructions/query")


if __name__ == "__main__":
    main()
