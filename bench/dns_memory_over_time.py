"""Does the DNS resolver's memory keep growing? One `schoolgate dns` process, many runs of
distinct names (half blocked, half forwarded to a local stub), its resident memory after each.

    .venv/bin/python bench/dns_memory_over_time.py [--runs 12] [--names 100000]
        [--server schoolgate|schoolgate-python]

Uses `dns_bench.py`'s own inputs (the policy, UT1, the stub, dnsperf, pinning). A leak of one
Python object per query would add several MiB per run of 100,000; caches that fill (the answer
cache's 50,000 entries) show as steps that stop.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import dns_bench as bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--names", type=int, default=100_000)
    parser.add_argument("--server", default="schoolgate", choices=bench.SERVERS[2:])
    options = parser.parse_args()
    args = argparse.Namespace(
        policy=bench.REPO / "policies" / "st-thomas-more.yaml",
        lists=[bench.REPO.parent / "shared" / "data" / "ut1"],
        rounds=options.runs,
        names=options.names,
        rate=10,
        rate_seconds=1,
        check=2,
        servers=[options.server],
        group=None,
    )
    work = Path(tempfile.mkdtemp(prefix="dns-memory-"))
    inputs = bench.build_inputs(args, work)
    print(f"fast lane: {inputs['fast_lane']}; server: {options.server}")
    upstream = bench.free_port()
    stub_command = bench.dnsmasq(upstream, f"--address=/#/{bench.STUB_ADDRESS}", "--local-ttl=3600")
    stub = subprocess.Popen(bench.pinned(1, stub_command), stderr=subprocess.DEVNULL)
    server = None
    try:
        bench.wait_for_answers(upstream)
        server, port = bench.start(options.server, work, upstream, args)
        bench.wait_for_answers(port)
        for run in range(options.runs):
            result = bench.dnsperf(port, work / f"q-{run}-{options.server}-full.txt")
            time.sleep(1)
            rss = bench.resident_mib(server.pid)
            print(f"run {run + 1}: {result.get('qps')} q/s, resident {rss:.1f} MiB", flush=True)
    finally:
        if server is not None:
            server.terminate()
        stub.terminate()


if __name__ == "__main__":
    main()
