"""Schoolgate's HTTP proxy under wrk: requests/s and added latency for allowed plain-HTTP requests
to a local origin, against going to the origin directly; memory with the full UT1 set loaded.

    .venv/bin/python bench/proxy_bench.py [--policy policies/st-thomas-more.yaml]
        [--lists ../shared/data/ut1] [--seconds 10] [--connections 32] [--loops asyncio,uvloop]

Everything on 127.0.0.1:
1. the policy is compiled with the UT1 lists into a snapshot; `schoolgate proxy` loads it (one
   process, pinned to CPU 0 with taskset), identifies 127.0.0.0/8 as the staff group (whose signed
   agreement is on file) and journals every decision as in production;
2. the origin is a minimal keep-alive HTTP server (asyncio protocol, fixed 200 response,
   unpinned), reached as `www.bbc.co.uk` through the proxy's host override, so each request goes
   through a real decision over the whole UT1 index;
3. wrk (unpinned) runs direct to the origin and through the proxy (absolute-form request line,
   as a browser sends to a proxy), once with 1 connection (pure added latency) and once with
   --connections (throughput); latency percentiles are wrk's `--latency` output;
4. steps 1 and 3 are repeated for each event loop in --loops (`schoolgate proxy --loop`; uvloop
   is the optional `fast` extra), with a fresh proxy process each time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.commands._snapshots import cached_snapshot  # noqa: E402

HOST = "www.bbc.co.uk"
PATH = "/news/technology"
BODY = b"<html><body>" + b"x" * 1024 + b"</body></html>"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(BODY) + BODY
)


class OriginProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(RESPONSE)


async def serve_origin() -> None:
    server = await asyncio.get_running_loop().create_server(OriginProtocol, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wrk(url: str, connections: int, seconds: int, script: Path | None) -> dict[str, float]:
    command = ["wrk", "-t", "1" if connections == 1 else "2", "-c", str(connections)]
    command += ["-d", f"{seconds}s", "--latency"]
    if script is not None:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    for pct in ("50", "90", "99"):
        value, unit = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", output).groups()
        result[f"p{pct}"] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return result


def start_proxy(work: Path, snapshot: Path, origin_port: int, agreement: str, loop: str) -> tuple:
    state = work / "state"
    state.mkdir(exist_ok=True)
    signed = {
        "subject": "address:127.0.0.1",
        "agreement": agreement,
        "signed_at": datetime.now().isoformat(timespec="seconds"),
    }
    (state / "signatures.jsonl").write_text(json.dumps(signed) + "\n")
    (work / "site.yaml").write_text(
        f"subnets: [{{network: 127.0.0.0/8, group: staff}}]\n"
        f"journal: {work / f'journal-{loop}'}\n"
        f"proxy:\n  state_dir: {state}\n  hosts: {{{HOST}: '127.0.0.1:{origin_port}'}}\n"
    )
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    command = [
        *pin,
        sys.executable,
        "-m",
        "schoolgate",
        "proxy",
        "--site",
        str(work / "site.yaml"),
        "--snapshot",
        str(snapshot),
        "--listen",
        "127.0.0.1:0",
        "--pages-listen",
        "127.0.0.1:0",
        "--loop",
        loop,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=work)
    line = ""
    while "proxy:" not in line:
        line = process.stdout.readline()
        if not line:
            raise SystemExit("the proxy did not start")
    port = int(re.search(r"http://127\.0\.0\.1:(\d+)", line).group(1))
    return process, port


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", type=Path, default=REPO / "policies/st-thomas-more.yaml")
    parser.add_argument("--lists", type=Path, default=REPO.parent / "shared/data/ut1")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--loops", default="asyncio,uvloop", help="comma-separated event loops")
    parser.add_argument("--serve-origin", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_origin:
        asyncio.run(serve_origin())
        return
    work = Path(tempfile.mkdtemp(prefix="schoolgate-proxy-bench-"))
    started = time.perf_counter()
    snapshot = cached_snapshot(args.policy, [args.lists])
    snapshot.save(work / "snapshot.sgs")
    domains = len(snapshot.index.domains)
    agreement = snapshot.policy.group("staff").agreement or "staff"
    print(f"snapshot: {domains:,} domains ({time.perf_counter() - started:.1f} s)")
    origin = subprocess.Popen(
        [sys.executable, __file__, "--serve-origin"], stdout=subprocess.PIPE, text=True
    )
    origin_port = int(origin.stdout.readline())
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    try:
        for loop in args.loops.split(","):
            proxy, proxy_port = start_proxy(
                work, work / "snapshot.sgs", origin_port, agreement, loop
            )
            try:
                run(args, work, origin_port, proxy, proxy_port, loop)
            finally:
                proxy.terminate()
                proxy.wait(10)
    finally:
        origin.terminate()
        origin.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}")


def run(
    args, work: Path, origin_port: int, proxy: subprocess.Popen, proxy_port: int, loop: str
) -> None:
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({"http": f"http://127.0.0.1:{proxy_port}"})
    )
    with opener.open(f"http://{HOST}{PATH}", timeout=10) as response:
        assert response.status == 200 and response.read() == BODY, "proxy sanity check failed"
    rss_loaded = rss_mib(proxy.pid)
    script = work / "proxy.lua"
    script.write_text(f'wrk.path = "http://{HOST}{PATH}"\nwrk.headers["Host"] = "{HOST}"\n')
    direct_url = f"http://127.0.0.1:{origin_port}{PATH}"
    proxied_url = f"http://127.0.0.1:{proxy_port}/"
    rows = []
    for connections in (1, args.connections):
        direct = wrk(direct_url, connections, args.seconds, None)
        proxied = wrk(proxied_url, connections, args.seconds, script)
        rows.append((connections, direct, proxied))
    rss_after = rss_mib(proxy.pid)
    journal_bytes = sum(p.stat().st_size for p in (work / f"journal-{loop}").glob("*"))
    print(f"\n### event loop: {loop}")
    print(
        f"proxy RSS: {rss_loaded:.0f} MiB with the snapshot loaded, "
        f"{rss_after:.0f} MiB after the runs; journal {journal_bytes / 1e6:.1f} MB\n"
    )
    print("| connections | path | requests/s | p50 ms | p90 ms | p99 ms |")
    print("|---|---|---|---|---|---|")
    for connections, direct, proxied in rows:
        for name, r in (("direct", direct), ("via proxy", proxied)):
            print(
                f"| {connections} | {name} | {r['rps']:,.0f} | {r['p50']:.3f} | "
                f"{r['p90']:.3f} | {r['p99']:.3f} |"
            )
    for connections, direct, proxied in rows:
        print(
            f"added p50 latency at {connections} connection(s): "
            f"{proxied['p50'] - direct['p50']:.3f} ms"
        )
    print(f"\ncpus: {os.cpu_count()}, proxy pinned to CPU 0: {bool(shutil.which('taskset'))}")


if __name__ == "__main__":
    main()
