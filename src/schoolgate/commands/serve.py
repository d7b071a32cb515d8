"""`schoolgate serve`: the whole gateway for one school on local high ports, with one command.

Compiles the policy with its lists into `var/snapshot.sgs` (watched: `schoolgate policy compile`
a new one there and every service picks it up), then runs the DNS resolver, the HTTP proxy, the
block/agreement pages and, if the staff application is installed, its development server — until
Ctrl-C. Devices and their groups come from `var/gateway/bindings.json` (the console publishes it;
re-read within a second); the monitor copies the journal into the event store `var/events.sqlite3`
(the console's dashboard and query log), applies the policy's alert rules and sends alerts by
email, webhook and to the staff app (`schoolgate.monitor.live`); the services' addresses are
announced in `var/gateway/services.json` for the console's health panel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import errno
import importlib.util
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schoolgate.commands._snapshots import (
    DATA_ROOT_ENV,
    add_data_root_argument,
    cached_snapshot,
    default_manifest,
)
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.events.journal import JournalWriter
from schoolgate.files import write_atomically
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.dns.server import DnsServer, Resolver
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.journal_events import binding_recorder
from schoolgate.gateway.proxy.assemble import build_gateway, join_host_port
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.services import dns_resolver
from schoolgate.gateway.site import BlockPage, DnsSettings, ProxySiteSettings
from schoolgate.monitor.live import start_live_monitor

DEFAULT_POLICY = Path("policies/st-thomas-more.yaml")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run DNS resolver, proxy, block pages (and the staff app) for the demo school",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(parser)
    parser.set_defaults(func=run)


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policy", type=Path, default=DEFAULT_POLICY, help="%(default)s")
    parser.add_argument("--shared", type=Path, default=Path("../shared"), help="%(default)s")
    parser.add_argument(
        "--lists",
        type=Path,
        action="append",
        help="list folders or manifest files (default: lists/default.yaml over SHARED/data)",
    )
    add_data_root_argument(parser)
    parser.add_argument("--var", type=Path, default=Path("var"), help="state folder")
    parser.add_argument("--address", default="127.0.0.1", help="listen address (%(default)s)")
    parser.add_argument("--dns-port", type=int, default=5353)
    parser.add_argument(
        "--no-fast-lane",
        action="store_true",
        help="DNS: answer every query in Python (the handler chain), not plain ones in C",
    )
    parser.add_argument("--proxy-port", type=int, default=3128)
    parser.add_argument("--pages-port", type=int, default=8081)
    parser.add_argument("--app-port", type=int, default=8000)
    parser.add_argument("--no-app", action="store_true", help="do not start the staff app")
    parser.add_argument(
        "--upstream", action="append", metavar="ADDR:PORT", help="DNS upstream (default: system)"
    )


@dataclass
class ServeOptions:
    policy: Path
    lists: list[Path]
    shared: Path
    data_root: Path | None
    var: Path
    address: str
    ports: dict[str, int]
    upstreams: list[str]
    app: bool
    demo_users: bool = False
    """Create the staff app's demo users (public passwords): only `schoolgate demo` does."""
    on_ready: Callable[[str], None] | None = None
    """Called (in a thread) with the proxy's address once every service is up: the demo's tour."""
    alert_token: str = ""
    """The bearer token the monitor uses for the staff app's alert API (made per run)."""
    monitor_lines: list[str] = field(default_factory=list)
    fast_lane: bool = True
    """DNS: answer plain queries in C (`gateway/dns/fastlane.py`)."""


def options_from(args: argparse.Namespace) -> ServeOptions:
    env_root = os.environ.get(DATA_ROOT_ENV)
    data_root = args.data_root or (Path(env_root) if env_root else args.shared / "data")
    if args.lists is not None:
        lists = args.lists
    else:
        lists = [default_manifest()] if data_root.is_dir() else []
    return ServeOptions(
        policy=args.policy,
        lists=lists,
        shared=args.shared,
        data_root=data_root,
        var=args.var,
        address=args.address,
        ports={
            "dns": args.dns_port,
            "proxy": args.proxy_port,
            "pages": args.pages_port,
            "app": args.app_port,
        },
        upstreams=args.upstream or system_resolvers(),
        app=not args.no_app,
        fast_lane=not args.no_fast_lane,
    )


def system_resolvers() -> list[str]:
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver ")]
    usable = [s for s in servers if ":" not in s or s.count(":") > 1]
    return [join_host_port(s, 53) for s in usable] or ["9.9.9.9:53"]


def compile_into_var(options: ServeOptions) -> Path:
    """Compile (or reuse the cached compile of) the policy and lists into var/snapshot.sgs."""
    started = time.perf_counter()
    snapshot = cached_snapshot(options.policy, options.lists, data_root=options.data_root)
    options.var.mkdir(parents=True, exist_ok=True)
    path = options.var / "snapshot.sgs"
    snapshot.save(path)
    domains = len(snapshot.index.domains)
    print(
        f"Snapshot: {path} ({domains:,} listed domains from "
        f"{', '.join(str(p) for p in options.lists) or 'no lists'}; "
        f"{time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    return path


def run(args: argparse.Namespace) -> int:
    options = options_from(args)
    try:
        snapshot_path = compile_into_var(options)
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 1
    except (OSError, ValueError) as error:
        print(f"schoolgate serve: {error}", file=sys.stderr)
        return 1
    return serve_snapshot(options, snapshot_path)


def serve_snapshot(options: ServeOptions, snapshot_path: Path) -> int:
    holder = SnapshotHolder(snapshot_path)
    journal = JournalWriter(options.var / "journal")
    options.alert_token = options.alert_token or secrets.token_urlsafe(24)
    app_url = f"http://{join_host_port(options.address, options.ports['app'])}"
    monitor = start_live_monitor(
        holder.decider.policy,
        options.var,
        app_url=app_url if options.app else None,
        app_token=options.alert_token,
        demo_mail=options.demo_users,
    )
    monitor.monitor.follow(holder)  # a recompiled policy reaches the monitor too
    options.monitor_lines = monitor.lines
    try:
        asyncio.run(_serve(options, holder, journal))
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        print(
            f"schoolgate serve: {error.strerror or error}: another program already listens on "
            "one of the ports (a system Squid takes 3128). Choose free ones with --dns-port, "
            "--proxy-port, --pages-port and --app-port.",
            file=sys.stderr,
        )
        return 1
    finally:
        holder.stop()
        journal.close()
        monitor.stop()
    return 0


def announce_services(state_dir: Path, services: dict[str, str]) -> None:
    """Where each service listens, for the console's health panel."""
    state_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(state_dir / "services.json", json.dumps(services, indent=1).encode())


def _dns_resolver(
    options: ServeOptions, holder: SnapshotHolder, who: WhoIsAsking, journal: JournalWriter
) -> Resolver:
    """The same wiring as `schoolgate dns` (`gateway.services`), with the shared data's DoH list
    and safe-search tables; TTLs and cache sizes at the site defaults."""
    data = options.shared / "data"
    tables = data / "safesearch-adguard"
    doh_list = data / "doh-servers" / "doh-domains.txt"
    settings = DnsSettings(
        listen=[join_host_port(options.address, options.ports["dns"])],
        upstreams=options.upstreams,
        doh_lists=[doh_list] if doh_list.exists() else [],
        safe_search_tables=tables if tables.is_dir() else None,
    )
    block_page = BlockPage(ipv4=options.address if ":" not in options.address else None)
    return dns_resolver(settings, holder, who=who, journal=journal, block_page=block_page)


async def _serve(options: ServeOptions, holder: SnapshotHolder, journal: JournalWriter) -> None:
    identity = Identity(
        bindings_file=options.var / "gateway" / "bindings.json",
        nominated_users=holder.decider.policy.nominated_users,
        on_change=binding_recorder(journal),
    )
    host = options.address
    settings = ProxySiteSettings(
        listen=join_host_port(host, options.ports["proxy"]),
        pages_listen=join_host_port(host, options.ports["pages"]),
        state_dir=options.var / "gateway",
    )
    gateway = build_gateway(
        settings,
        lambda: holder.decider,
        identify=identity.identify,
        journal=journal,
        logon_time=identity.logon_time,
    )
    proxy_address, pages_url = await gateway.start(settings)
    who = WhoIsAsking(identity.identify, agreements=gateway.pages.agreements)
    dns = DnsServer(_dns_resolver(options, holder, who, journal), fast_lane=options.fast_lane)
    [(dns_host, dns_port)] = await dns.start([(host, options.ports["dns"])])
    holder.start()
    app = start_app(options) if options.app else None
    services = {"proxy": proxy_address, "pages": pages_url, "dns (TCP)": f"{dns_host}:{dns_port}"}
    if app is not None:
        services["staff app"] = join_host_port(options.address, options.ports["app"])
    announce_services(settings.state_dir, services)
    print_addresses(holder, proxy_address, pages_url, f"{dns_host}:{dns_port}", app, options)
    if options.on_ready is not None:
        await asyncio.get_running_loop().run_in_executor(None, options.on_ready, proxy_address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, holder.reload))
    try:
        await stop.wait()
    finally:
        print("Stopping…", flush=True)
        if app is not None:
            app.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                app.wait(10)
        await gateway.close()
        await dns.close()


def start_app(options: ServeOptions) -> subprocess.Popen | None:
    """The staff app's development server, if Django and the app are installed."""
    if importlib.util.find_spec("django") is None:
        return None
    if importlib.util.find_spec("schoolgate.app.settings") is None:
        return None
    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "schoolgate.app.settings",
        "SCHOOLGATE_POLICY": str(options.policy.resolve()),
        "SCHOOLGATE_VAR": str(options.var.resolve()),
        "SCHOOLGATE_SECURE_COOKIES": os.environ.get("SCHOOLGATE_SECURE_COOKIES", "0"),
        "SCHOOLGATE_ALERT_TOKENS": ",".join(
            t for t in (os.environ.get("SCHOOLGATE_ALERT_TOKENS", ""), options.alert_token) if t
        ),
        # The filtering self-test page asks this gateway (docs/reviews.md).
        "SCHOOLGATE_GATEWAY_DNS": join_host_port(options.address, options.ports["dns"]),
        "SCHOOLGATE_GATEWAY_PROXY": join_host_port(options.address, options.ports["proxy"]),
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if migrate.returncode != 0:
        print("Staff app not started: `migrate` failed:", migrate.stderr.strip()[-500:])
        return None
    if options.demo_users:
        for command in ("demo_data", "demo_devices"):
            subprocess.run(
                [sys.executable, "-m", "django", command],
                env=env,
                capture_output=True,
                check=False,
            )
    address = join_host_port(options.address, options.ports["app"])
    return subprocess.Popen(
        [sys.executable, "-m", "django", "runserver", address, "--noreload"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


_DEMO_SIGN_IN = "\n".join(
    " " * 20 + line
    for line in (
        "sign in as dsl, teacher, governor, … (docs/staff-app.md) with the",
        "demo password schoolgate-demo-2025; the DSL's TOTP secret is",
        "SCHOOLGATEDEMOTOTPSECRET234567AB (demo only: these are public)",
    )
)


def print_addresses(
    holder: SnapshotHolder,
    proxy: str,
    pages: str,
    dns: str,
    app: subprocess.Popen | None,
    options: ServeOptions,
) -> None:
    school = holder.decider.policy.school.name
    dns_host, _, dns_port = dns.rpartition(":")
    lists = "".join(f" --lists {path}" for path in options.lists)
    if options.data_root is not None and options.lists:
        lists += f" --data-root {options.data_root}"
    lines = [
        "",
        f"Schoolgate is filtering for {school}. Press Ctrl-C to stop.",
        f"  HTTP/HTTPS proxy  http://{proxy}    e.g. curl -x http://{proxy} http://example.com/",
        f"  DNS resolver      {dns} (UDP+TCP)   e.g. dig @{dns_host} -p {dns_port} example.com",
        f"  Block pages       {pages}/",
    ]
    if app is not None:
        app_url = f"http://{join_host_port(options.address, options.ports['app'])}"
        lines += [
            f"  Staff app         {app_url}/",
            f"  Console           {app_url}/console/  (dashboard, query log, devices)",
        ]
        if options.demo_users:
            lines.append(_DEMO_SIGN_IN)
    elif options.app:
        lines.append("  Staff app         not started (Django app not installed)")
    lines += [
        f"  Snapshot          {holder.path} (reloaded without a restart after",
        f"                    schoolgate policy compile {options.policy}{lists} -o {holder.path})",
        f"  Decision journal  {options.var / 'journal'}",
        *options.monitor_lines,
        "",
    ]
    print("\n".join(lines), flush=True)


def free_ports(options: ServeOptions) -> ServeOptions:
    """The demo's ports, each replaced by a free one if another program holds it (a Debian
    `squid` package starts a system Squid on 3128), with a line saying so."""
    ports = dict(options.ports)
    for name, port in options.ports.items():
        if _bindable(options.address, port, udp=name == "dns"):
            continue
        ports[name] = _free_port(options.address, udp=name == "dns")
        print(f"   port {port} ({name}) is taken by another program: using {ports[name]}")
    return dataclasses.replace(options, ports=ports)


def _bindable(address: str, port: int, udp: bool) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    kinds = (socket.SOCK_STREAM, socket.SOCK_DGRAM) if udp else (socket.SOCK_STREAM,)
    for kind in kinds:
        with socket.socket(family, kind) as probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((address, port))
            except OSError:
                return False
    return True


def _free_port(address: str, udp: bool) -> int:
    for _ in range(50):
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((address, 0))
            port = probe.getsockname()[1]
        if _bindable(address, port, udp):
            return port
    raise OSError(errno.EADDRINUSE, "no free port found")
