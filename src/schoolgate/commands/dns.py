"""`schoolgate dns`: run the filtering DNS resolver.

Agreements ("no signed agreement, no access", STM-228, CAV-031): with `--state` (or `--site`,
whose `proxy.state_dir` it defaults to) the resolver honours the staff app's published agreement
state and the pages server's signatures, as `serve`, the proxy and the Squid helper do. Without
either it has no agreement state and counts everyone as signed (a bare resolver for tests and
benchmarks)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path

from schoolgate.commands._snapshots import add_snapshot_arguments, snapshot_from_arguments
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.agreement_state import AGREEMENT_STATE_FILE, AgreementState
from schoolgate.gateway.asking import WhoIsAsking
from schoolgate.gateway.dns.safesearch import SafeSearchTableError
from schoolgate.gateway.dns.server import DnsServer, Resolver
from schoolgate.gateway.identity import BindingsEndpoint, Identity
from schoolgate.gateway.journal_events import binding_recorder
from schoolgate.gateway.proxy.loop import LOOP_CHOICES
from schoolgate.gateway.proxy.loop import run as run_loop
from schoolgate.gateway.proxy.records import SIGNATURES_FILE, SignatureStore
from schoolgate.gateway.reload import SnapshotHolder
from schoolgate.gateway.services import dns_resolver
from schoolgate.gateway.site import SiteConfig, SiteError, Subnet, load_site, parse_host_port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "dns",
        help="run the filtering DNS resolver",
        description=(
            "Answer DNS over UDP and TCP: blocked names get the block page's address or NXDOMAIN, "
            "search engines their safe-search hosts, everything else the upstream's answer. "
            "Settings come from --site, and the options below override them. A --snapshot file "
            "is reloaded when it changes or on SIGHUP."
        ),
    )
    add_snapshot_arguments(parser, default_lists=True)
    parser.add_argument("--site", type=Path, help="the site configuration (YAML)")
    parser.add_argument("--listen", action="append", metavar="ADDR:PORT", help="repeatable")
    parser.add_argument("--upstream", action="append", metavar="ADDR:PORT", help="repeatable")
    parser.add_argument("--journal", type=Path, metavar="DIR", help="decision journal folder")
    parser.add_argument("--no-journal", action="store_true", help="do not journal decisions")
    parser.add_argument(
        "--loop",
        choices=LOOP_CHOICES,
        default="auto",
        help="event loop: uvloop when installed (auto), or the standard asyncio one",
    )
    parser.add_argument(
        "--no-fast-lane",
        action="store_true",
        help="answer every query in Python (the handler chain), not plain ones in C",
    )
    parser.add_argument("--doh-list", type=Path, action="append", metavar="FILE")
    parser.add_argument("--safe-search-tables", type=Path, metavar="DIR")
    parser.add_argument("--subnet", action="append", metavar="CIDR=GROUP", help="repeatable")
    parser.add_argument("--bindings", type=Path, metavar="FILE", help="address -> user JSON")
    parser.add_argument("--bindings-listen", metavar="ADDR:PORT")
    parser.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="the pages server's state folder, whose agreement signatures and published "
        "agreement state the resolver honours (default: the site's proxy.state_dir when --site "
        "is given)",
    )
    parser.add_argument("--verbose", "-v", action="store_true")
    parser.set_defaults(func=run)


# Command-line option -> the site-config field it overrides (`dns:` section, then top level).
DNS_OVERRIDES = {
    "listen": "listen",
    "upstream": "upstreams",
    "doh_list": "doh_lists",
    "safe_search_tables": "safe_search_tables",
}
SITE_OVERRIDES = {
    "journal": "journal",
    "snapshot": "snapshot",
    "bindings": "bindings_file",
    "bindings_listen": "bindings_listen",
}


def site_from_arguments(args: argparse.Namespace) -> SiteConfig:
    site = load_site(args.site) if args.site else SiteConfig()
    dns_updates = _given(args, DNS_OVERRIDES)
    updates = _given(args, SITE_OVERRIDES)
    if args.subnet:
        updates["subnets"] = [_subnet(text) for text in args.subnet]
    data = site.model_dump()
    data.update(updates)
    data["dns"] = {**data["dns"], **dns_updates}
    return SiteConfig.model_validate(data)


def _given(args: argparse.Namespace, overrides: dict[str, str]) -> dict[str, object]:
    """The fields the command line sets; options not given leave the site's value alone."""
    values = {field: getattr(args, option) for option, field in overrides.items()}
    return {field: value for field, value in values.items() if value}


def _subnet(text: str) -> dict[str, str]:
    network, sep, group = text.partition("=")
    if not sep or not group:
        raise SiteError(f"--subnet {text!r}: expected CIDR=GROUP, e.g. 10.20.0.0/16=pupils")
    return Subnet(network=network, group=group).model_dump()


def _agreements(
    args: argparse.Namespace, site: SiteConfig, identity: Identity
) -> AgreementCheck | None:
    """The staff app's published agreement state and the pages server's signatures, or None
    (everyone counts as signed) when neither --state nor --site says where they are."""
    state = args.state or (site.proxy.state_dir if args.site else None)
    if state is None:
        return None
    return AgreementCheck(
        AgreementState.load(state / AGREEMENT_STATE_FILE),
        SignatureStore(state / SIGNATURES_FILE),
        identity.logon_time,
    )


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        site = site_from_arguments(args)
        if site.snapshot is not None:
            holder = SnapshotHolder(site.snapshot)
        else:
            holder = SnapshotHolder(snapshot=snapshot_from_arguments(args))
        identity = Identity.from_site(site)
        journal = None if args.no_journal else JournalWriter(site.journal)
        if journal is not None:
            identity.on_change = binding_recorder(journal)
        resolver = dns_resolver(
            site.dns,
            holder,
            who=WhoIsAsking(identity.identify, _agreements(args, site, identity)),
            journal=journal,
            block_page=site.block_page,
        )
    except (SiteError, PolicyError, SafeSearchTableError, OSError, ValueError) as error:
        print(f"schoolgate dns: {error}", file=sys.stderr)
        return 2
    try:
        return run_loop(serve(site, holder, resolver, identity, not args.no_fast_lane), args.loop)
    finally:
        holder.stop()
        if journal is not None:
            journal.close()


async def serve(
    site: SiteConfig,
    holder: SnapshotHolder,
    resolver: Resolver,
    identity: Identity,
    fast_lane: bool = True,
) -> int:
    server = DnsServer(resolver, fast_lane=fast_lane)
    _freeze_heap()
    holder.on_reload(lambda snapshot, decider: _freeze_heap())
    bound = await server.start([parse_host_port(a) for a in site.dns.listen])
    endpoint = None
    if site.bindings_listen:
        endpoint = BindingsEndpoint(identity, site.bindings_token)
        host, port = await endpoint.start(site.bindings_listen)
        print(f"bindings endpoint on http://{host}:{port}/bindings", flush=True)
    holder.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: loop.run_in_executor(None, holder.reload))
    school = holder.decider.policy.school.name
    for host, port in bound:
        print(f"schoolgate dns for {school} on {host}:{port} (UDP and TCP)", flush=True)
    await stop.wait()
    await server.close()
    if endpoint is not None:
        await endpoint.close()
    return 0


def _freeze_heap() -> None:
    """Move the loaded snapshot out of the collector's sight: full collections over hundreds of
    thousands of list objects would otherwise pause answers for milliseconds."""
    gc.collect()
    gc.freeze()
