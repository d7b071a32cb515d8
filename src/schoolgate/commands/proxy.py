"""`schoolgate proxy`: the filtering HTTP/HTTPS proxy and the gateway pages server."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from schoolgate.commands._snapshots import add_snapshot_arguments, snapshot_from_arguments
from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.journal_events import binding_recorder
from schoolgate.gateway.proxy.assemble import Gateway, build_gateway
from schoolgate.gateway.proxy.loop import LOOP_CHOICES, LoopUnavailableError, loop_name
from schoolgate.gateway.proxy.loop import run as run_loop
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.site import ProxySiteSettings, SiteConfig, SiteError, load_site
from schoolgate.gateway.tls.ca import CaError, load_ca


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="run the filtering HTTP/HTTPS proxy and the block/agreement pages",
        description="Explicit HTTP proxy: plain HTTP is filtered per request with block, warn "
        "and agreement pages; HTTPS CONNECT is filtered on the host name (see "
        "docs/https-limits.md). Runs until Ctrl-C; SIGHUP or a changed --snapshot reloads.",
    )
    add_snapshot_arguments(parser, default_lists=True)
    add_gateway_arguments(parser)
    parser.set_defaults(func=run)


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--site", type=Path, help="site configuration (YAML)")
    parser.add_argument("--listen", help="proxy address, e.g. 127.0.0.1:3128")
    parser.add_argument("--pages-listen", help="pages server address, e.g. 127.0.0.1:8081")
    parser.add_argument("--pages-url", help="how browsers reach the pages server")
    parser.add_argument("--users", type=Path, help="user directory for Proxy-Authorization")
    parser.add_argument("--require-auth", action="store_true", help="ask every client to sign in")
    parser.add_argument("--journal", type=Path, help="decision journal directory")
    parser.add_argument("--state", type=Path, help="folder for signatures and requests")
    parser.add_argument(
        "--tls-ca", type=Path, help="school CA folder (`schoolgate ca init`): HTTPS inspection"
    )
    parser.add_argument(
        "--upstream-ca", type=Path, help="extra CA file trusted for inspected origins"
    )
    parser.add_argument(
        "--pages-tls-listen", help="also serve the pages over HTTPS here (the block address)"
    )
    parser.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NAME=ADDRESS[:PORT]",
        help="connect to NAME (or *.suffix) at a fixed address (internal services, tests)",
    )
    parser.add_argument(
        "--loop",
        choices=LOOP_CHOICES,
        default="auto",
        help="event loop: uvloop if installed (auto, the default), or force one",
    )


def site_from_arguments(args: argparse.Namespace) -> SiteConfig:
    try:
        site = load_site(args.site) if args.site else SiteConfig()
    except SiteError as exc:
        raise SystemExit(f"schoolgate: {exc}") from None
    return site


def proxy_settings(args: argparse.Namespace, site: SiteConfig) -> ProxySiteSettings:
    update: dict[str, object] = {}
    for name in ("listen", "pages_listen", "pages_url"):
        if getattr(args, name, None):
            update[name] = getattr(args, name)
    if args.users:
        update["users_file"] = args.users
    if args.require_auth:
        update["require_auth"] = True
    if args.state:
        update["state_dir"] = args.state
    for name in ("tls_ca", "upstream_ca", "pages_tls_listen"):
        if getattr(args, name, None):
            key = {"tls_ca": "tls_ca_dir", "upstream_ca": "upstream_ca_file"}.get(name, name)
            update[key] = getattr(args, name)
    hosts = dict(site.proxy.hosts)
    for entry in args.host:
        name, sep, address = entry.partition("=")
        if not sep or not name or not address:
            raise SystemExit(f"schoolgate: --host {entry!r} must look like NAME=ADDRESS[:PORT]")
        hosts[name] = address
    update["hosts"] = hosts
    try:
        return ProxySiteSettings.model_validate(site.proxy.model_dump() | update)
    except ValueError as exc:
        raise SystemExit(f"schoolgate: invalid proxy settings: {exc}") from None


def snapshot_holder(args: argparse.Namespace, site: SiteConfig) -> SnapshotHolder:
    """Watch a snapshot file (hot reload) when there is one; else compile the policy once."""
    path = args.snapshot or (site.snapshot if args.policy is None else None)
    if path is not None:
        holder = SnapshotHolder(path).start()
        holder.install_sighup()
        return holder
    return SnapshotHolder(snapshot=snapshot_from_arguments(args))


def run(args: argparse.Namespace) -> int:
    site = site_from_arguments(args)
    settings = proxy_settings(args, site)
    if settings.tls_ca_dir is not None:
        try:  # a missing CA is said at once, before minutes of compiling the default lists
            load_ca(settings.tls_ca_dir)
        except CaError as exc:
            raise SystemExit(f"schoolgate: {exc}") from None
    holder = snapshot_holder(args, site)
    identity = Identity.from_site(site, holder.decider.policy.nominated_users)
    journal = JournalWriter(args.journal or site.journal)
    identity.on_change = binding_recorder(journal)
    try:
        run_loop(_serve(settings, holder, identity, journal), args.loop)
    except LoopUnavailableError as exc:
        raise SystemExit(f"schoolgate: {exc}") from None
    finally:
        holder.stop()
        journal.close()
    return 0


async def _serve(
    settings: ProxySiteSettings, holder: SnapshotHolder, identity: Identity, journal: JournalWriter
) -> None:
    try:
        gateway = build_gateway(
            settings, lambda: holder.decider, identify=identity.identify, journal=journal
        )
    except CaError as exc:
        raise SystemExit(f"schoolgate: {exc}") from None
    proxy_address, pages_url = await gateway.start(settings)
    school = holder.decider.policy.school.name
    print(f"Schoolgate proxy for {school}", flush=True)
    print(f"  proxy:  http://{proxy_address}  (set this as the browser's HTTP and HTTPS proxy)")
    print(f"  pages:  {pages_url}")
    print(f"  https:  {https_status(gateway, holder.decider.policy.https.enabled)}")
    print(f"  loop:   {loop_name()}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await gateway.close()


def https_status(gateway: Gateway, policy_inspects: bool) -> str:
    """One line on HTTPS: tunnels only, or what the school CA is used for."""
    inspector = gateway.proxy.inspector
    if inspector is None:
        return "tunnels only, decided on the host name (no school CA configured)"
    what = "inspecting the policy's https.inspect hosts" if policy_inspects else "not inspecting"
    line = f"school CA {inspector.minter.ca.fingerprint()[:23]}…; {what}; block pages over HTTPS"
    if gateway.pages_tls_address:
        host, port = gateway.pages_tls_address
        line += f"; pages also on https://{host}:{port}"
    return line
