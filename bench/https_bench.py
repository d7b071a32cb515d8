"""HTTPS through Schoolgate's proxy: TLS handshakes/s and added latency for inspected requests
against tunnelled ones (and against going to the origin directly), in one run; memory with
10,000 cached leaf certificates.

    .venv/bin/python bench/https_bench.py [--rounds 3] [--seconds 5] [--clients 8]
        [--latency-requests 100] [--leaves 10000]

Everything on 127.0.0.1:
1. a school CA and an origin test CA are made in a temporary folder; the origin is an asyncio
   HTTPS/1.1 server in its own process (fixed 1 KiB page, `Connection: close`) with a
   certificate from the origin CA for any name asked for;
2. `schoolgate proxy` runs in its own process with `--tls-ca` (the school CA) and
   `--upstream-ca` (the origin CA), journalling every decision as in production. Its policy
   inspects `inspected.bench` and not `tunnel.bench`; both names are host overrides to the
   origin, so the two modes reach the same server;
3. the client (threads, blocking sockets, Python's ssl) makes each request on a new
   connection: TCP, `CONNECT`, TLS handshake, `GET`, read to the end. So every request is a
   full handshake: through a tunnel one handshake (client-origin), inspected two (client-proxy
   with a minted leaf from the cache, proxy-origin with full verification);
4. modes are interleaved (direct, tunnel, inspect) for --rounds rounds. Latency: one client,
   sequential requests, median per round. Throughput: --clients threads for --seconds;
5. memory: a fresh process mints --leaves leaf certificates into the LRU cache (the newest
   1,000 also keep a ready `ssl.SSLContext`, `mint.CONTEXT_ENTRIES`) and reports its resident
   set size before and after.
Prints min / median / max over rounds and the load average.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.gateway.tls.ca import create_ca, load_ca, write_ca  # noqa: E402
from schoolgate.gateway.tls.mint import LeafMinter  # noqa: E402

BODY = b"<html><body>" + b"x" * 1024 + b"</body></html>"
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY
)
POLICY = """
schema_version: 1
school: {id: bench, name: Bench Academy, policy_title: Online Safety Policy}
groups:
  - {id: pupils, kind: pupil, title: Pupils, agreement_required: false}
filtering: {default_group: pupils}
https:
  enabled: true
  inspect: [inspected.bench]
"""
MODES = ("direct", "tunnel", "inspect")
NAMES = {"direct": "tunnel.bench", "tunnel": "tunnel.bench", "inspect": "inspected.bench"}


# The origin -------------------------------------------------------------------------------


class OriginProtocol(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if b"\r\n\r\n" in self.buffer:
            self.transport.write(RESPONSE)
            self.transport.close()


def run_origin(ca_dir: str, ports: multiprocessing.Queue) -> None:
    context = LeafMinter(load_ca(Path(ca_dir))).sni_context("tunnel.bench")

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(
            OriginProtocol, "127.0.0.1", 0, ssl=context, backlog=1024
        )
        ports.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()

    asyncio.run(main())


# The client -------------------------------------------------------------------------------


def one_request(mode: str, proxy: int, origin: int, context: ssl.SSLContext) -> float:
    name = NAMES[mode]
    start = time.perf_counter()
    sock = socket.create_connection(("127.0.0.1", origin if mode == "direct" else proxy), 10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as browsers and asyncio do
    if mode != "direct":
        sock.sendall(f"CONNECT {name}:443 HTTP/1.1\r\nHost: {name}:443\r\n\r\n".encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("proxy closed during CONNECT")
            answer += chunk
        if not answer.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(answer[:80])
    with context.wrap_socket(sock, server_hostname=name) as tls:
        tls.sendall(f"GET /page HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        received = b""
        while chunk := tls.recv(65536):
            received += chunk
    if not received.startswith(b"HTTP/1.1 200") or not received.endswith(b"</html>"):
        raise ConnectionError(f"{mode}: bad response {received[:60]!r}")
    return time.perf_counter() - start


def latency(mode: str, proxy: int, origin: int, context: ssl.SSLContext, count: int) -> float:
    times = [one_request(mode, proxy, origin, context) for _ in range(count)]
    return statistics.median(times) * 1000


def throughput(
    mode: str, proxy: int, origin: int, context: ssl.SSLContext, clients: int, seconds: float
) -> float:
    done = [0] * clients
    errors: list[str] = []
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        while time.perf_counter() < stop:
            try:
                one_request(mode, proxy, origin, context)
                done[i] += 1
            except (OSError, ConnectionError) as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"  {mode}: {len(errors)} errors, first: {errors[0][:100]}", flush=True)
    return sum(done) / (time.perf_counter() - began)


# Memory -----------------------------------------------------------------------------------


def rss_kib() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def leaf_memory(leaves: int, result: multiprocessing.Queue) -> None:
    minter = LeafMinter(create_ca("Bench Academy"), max_entries=leaves)
    minter.context_for("warm.bench")
    before = rss_kib()
    began = time.perf_counter()
    for i in range(leaves):
        minter.context_for(f"host{i}.bench")
    seconds = time.perf_counter() - began
    result.put((before, rss_kib(), seconds, len(minter), len(minter._contexts)))


# The run ----------------------------------------------------------------------------------


def start_proxy(tmp: Path, origin: int) -> tuple[subprocess.Popen[str], int]:
    policy = tmp / "bench.yaml"
    policy.write_text(POLICY)
    command = [
        sys.executable, "-m", "schoolgate", "proxy", "--policy", str(policy),
        "--listen", "127.0.0.1:0", "--pages-listen", "127.0.0.1:0",
        "--tls-ca", str(tmp / "school"), "--upstream-ca", str(tmp / "origin" / "school-ca.pem"),
        "--journal", str(tmp / "journal"), "--state", str(tmp / "state"),
        "--host", f"inspected.bench=127.0.0.1:{origin}",
        "--host", f"tunnel.bench=127.0.0.1:{origin}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO)
    assert process.stdout is not None
    for line in process.stdout:
        found = re.search(r"proxy:\s+http://127\.0\.0\.1:(\d+)", line)
        if found:
            return process, int(found.group(1))
    raise RuntimeError("the proxy did not start")


def summary(values: list[float]) -> str:
    return f"{min(values):8.1f} {statistics.median(values):8.1f} {max(values):8.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--latency-requests", type=int, default=100)
    parser.add_argument("--leaves", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="schoolgate-https-bench-") as folder:
        tmp = Path(folder)
        school, origin_ca = create_ca("Bench Academy"), create_ca("Bench Origins")
        write_ca(school, tmp / "school")
        write_ca(origin_ca, tmp / "origin")
        ports: multiprocessing.Queue = multiprocessing.Queue()
        origin_process = multiprocessing.Process(
            target=run_origin, args=(str(tmp / "origin"), ports), daemon=True
        )
        origin_process.start()
        origin = ports.get(timeout=30)
        proxy_process, proxy = start_proxy(tmp, origin)
        context = ssl.create_default_context(
            cadata=school.certificate_pem().decode() + origin_ca.certificate_pem().decode()
        )
        results: dict[str, dict[str, list[float]]] = {m: {"latency": [], "rate": []} for m in MODES}
        loads = []
        try:
            for mode in MODES:  # warm-up: first leaf minted, imports, caches
                latency(mode, proxy, origin, context, 5)
            for round_number in range(1, args.rounds + 1):
                for mode in MODES:
                    ms = latency(mode, proxy, origin, context, args.latency_requests)
                    rate = throughput(mode, proxy, origin, context, args.clients, args.seconds)
                    results[mode]["latency"].append(ms)
                    results[mode]["rate"].append(rate)
                    loads.append(os.getloadavg()[0])
                    print(
                        f"round {round_number} {mode:8} median latency {ms:6.2f} ms, "
                        f"{rate:7.1f} requests (new TLS connections)/s",
                        flush=True,
                    )
        finally:
            proxy_process.terminate()
            proxy_process.wait(10)
            origin_process.terminate()
        memory: multiprocessing.Queue = multiprocessing.Queue()
        leaf_process = multiprocessing.Process(target=leaf_memory, args=(args.leaves, memory))
        leaf_process.start()
        before, after, mint_seconds, cached, contexts = memory.get(timeout=900)
        leaf_process.join()
    print()
    print(f"{'':34} {'min':>8} {'median':>8} {'max':>8}")
    for mode in MODES:
        print(f"{mode + ' latency, ms (1 client)':34} {summary(results[mode]['latency'])}")
    for mode in MODES:
        label = f"{mode} requests/s ({args.clients} clients)"
        print(f"{label:34} {summary(results[mode]['rate'])}")
    added_tunnel = [
        t - d
        for t, d in zip(results["tunnel"]["latency"], results["direct"]["latency"], strict=True)
    ]
    added_inspect = [
        i - d
        for i, d in zip(results["inspect"]["latency"], results["direct"]["latency"], strict=True)
    ]
    print(f"{'added by tunnel, ms':34} {summary(added_tunnel)}")
    print(f"{'added by inspection, ms':34} {summary(added_inspect)}")
    print(
        f"leaf cache: {cached} leaves ({contexts} with a context), "
        f"RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB "
        f"(+{(after - before) / 1024:.1f} MiB, {(after - before) / cached:.1f} KiB each); "
        f"minted in {mint_seconds:.1f} s ({cached / mint_seconds:.0f}/s)"
    )
    print(f"load average (1 min) during rounds: {summary(loads)}; cores: {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
