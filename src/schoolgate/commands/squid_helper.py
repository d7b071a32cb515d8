"""`schoolgate squid-helper`: let an existing Squid filter with the school's policy."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from schoolgate.commands._snapshots import add_snapshot_arguments
from schoolgate.commands.proxy import site_from_arguments, snapshot_holder
from schoolgate.events.journal import JournalWriter
from schoolgate.gateway.agreement_check import AgreementCheck
from schoolgate.gateway.agreement_state import AGREEMENT_STATE_FILE, AgreementState
from schoolgate.gateway.identity import Identity
from schoolgate.gateway.proxy.assemble import pages_url
from schoolgate.gateway.proxy.records import (
    SIGNATURES_FILE,
    WARN_PASSES_FILE,
    SignatureStore,
    WarnPasses,
)
from schoolgate.gateway.proxy.users import UserDirectoryError, load_user_directory
from schoolgate.gateway.site import SiteConfig
from schoolgate.gateway.squid_helper import SquidHelper


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "squid-helper",
        help="answer Squid's external_acl_type or url_rewrite_program helper protocol",
        description="Reads Squid helper requests on stdin, writes answers on stdout. See "
        "schoolgate/gateway/squid_helper.py for the squid.conf lines. Use --snapshot so a "
        "new snapshot is picked up without restarting Squid.",
    )
    add_snapshot_arguments(parser, default_lists=True)
    parser.add_argument("--mode", choices=["acl", "rewrite"], default="acl")
    parser.add_argument("--site", type=Path, help="site configuration (subnets, pages URL)")
    parser.add_argument("--pages-url", help="where blocked users are sent, e.g. http://10.0.0.5")
    parser.add_argument("--users", type=Path, help="user directory: Squid user name -> group")
    parser.add_argument("--journal", type=Path, help="decision journal directory")
    parser.add_argument(
        "--state",
        type=Path,
        help="the pages server's state folder, whose warn passes, agreement signatures and "
        "published agreement state the helper honours "
        "(default: the site's proxy.state_dir when --site is given)",
    )
    parser.set_defaults(func=run)


def _warn_passes(args: argparse.Namespace, site: SiteConfig) -> WarnPasses | None:
    state = args.state or (site.proxy.state_dir if args.site else None)
    return WarnPasses(path=state / WARN_PASSES_FILE) if state is not None else None


def _agreements(args: argparse.Namespace, site: SiteConfig) -> AgreementCheck:
    """The staff app's published agreement state and the pages server's signatures."""
    state = args.state or (site.proxy.state_dir if args.site else None)
    if state is None:
        return AgreementCheck()
    return AgreementCheck(
        AgreementState.load(state / AGREEMENT_STATE_FILE), SignatureStore(state / SIGNATURES_FILE)
    )


def run(args: argparse.Namespace) -> int:
    site = site_from_arguments(args)
    holder = snapshot_holder(args, site)
    try:
        users = load_user_directory(args.users) if args.users else None
    except UserDirectoryError as exc:
        raise SystemExit(f"schoolgate: {exc}") from None
    journal_dir = args.journal or (site.journal if args.site else None)
    journal = JournalWriter(journal_dir) if journal_dir else None
    identity = Identity.from_site(site, holder.decider.policy.nominated_users)
    helper = SquidHelper(
        lambda: holder.decider,
        args.mode,
        args.pages_url or pages_url(site.proxy),
        users=users,
        identify=identity.identify,
        journal=journal,
        passes=_warn_passes(args, site),
        agreements=_agreements(args, site),
    )
    try:
        helper.run(sys.stdin, sys.stdout)
    finally:
        holder.stop()
        if journal is not None:
            journal.close()
    return 0
