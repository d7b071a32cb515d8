"""`schoolgate selftest`: the filtering self-test against the running gateway (DNS and proxy).

For each group, probe host names per category are decided by the running DNS resolver and the
running proxy from an address the gateway places in that group, and compared with what the
policy says (`gateway/selftest.py`; STM-004, STM-316, STM-318). Exit status 0 when everything
matched, 1 when anything did not or a group could not be probed, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from schoolgate.commands._snapshots import add_snapshot_arguments, snapshot_from_arguments
from schoolgate.engine.lists.importers import ListFormatError
from schoolgate.engine.policy.loader import PolicyError
from schoolgate.engine.snapshot import SnapshotError
from schoolgate.gateway import selftest
from schoolgate.gateway.identity import BindingError, parse_bindings
from schoolgate.gateway.site import parse_host_port


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "selftest",
        help="probe the running gateway, per group and category, and report what it blocked",
        description=(
            "Ask the running DNS resolver and proxy about probe sites for every category the "
            "policy names, as each group, and compare with the policy. Nothing is fetched: the "
            "proxy answers probes itself, and probes raise no alerts."
        ),
    )
    add_snapshot_arguments(parser, default_lists=True)
    parser.add_argument("--dns", required=True, metavar="HOST:PORT", help="the running resolver")
    parser.add_argument("--proxy", required=True, metavar="HOST:PORT", help="the running proxy")
    parser.add_argument(
        "--as",
        dest="askers",
        action="append",
        default=[],
        metavar="GROUP=ADDRESS",
        help="send this group's probes from ADDRESS (an address of this machine that the "
        "gateway places in GROUP, e.g. the gateway's own address on the pupil VLAN); repeatable",
    )
    parser.add_argument(
        "--bindings",
        type=Path,
        metavar="FILE",
        help="the gateway's bindings file: devices bound to a group (no user) ask for it",
    )
    parser.add_argument(
        "--default-from",
        metavar="ADDRESS",
        help="an address the gateway does not know: asks for the default group "
        "(default: 127.0.0.1 when the gateway listens on 127.0.0.1)",
    )
    parser.add_argument("--per-category", type=int, default=selftest.PER_CATEGORY, metavar="N")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        dns = parse_host_port(args.dns)
        proxy = parse_host_port(args.proxy, default_port=3128)
        explicit = dict(_pair(text) for text in args.askers)
        devices = _devices(args.bindings) if args.bindings else {}
        snapshot = snapshot_from_arguments(args)
    except (ValueError, BindingError, OSError) as error:
        print(f"schoolgate selftest: {error}", file=sys.stderr)
        return 2
    except PolicyError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return 2
    except (ListFormatError, SnapshotError) as error:
        print(f"schoolgate selftest: {error}", file=sys.stderr)
        return 2
    unknown = sorted(set(explicit) - {g.id for g in snapshot.policy.groups})
    if unknown:
        print(f"schoolgate selftest: no group {', '.join(unknown)} in the policy", file=sys.stderr)
        return 2
    unclaimed = args.default_from or ("127.0.0.1" if dns[0] == "127.0.0.1" else None)
    askers = selftest.askers_from(
        snapshot.policy, explicit=explicit, devices=devices, unclaimed=unclaimed
    )
    probes = selftest.probe_targets(snapshot, args.per_category)
    report = selftest.run_selftest(snapshot, dns, proxy, askers, probes)
    if args.json:
        json.dump(report.to_json(), sys.stdout, indent=1)
        print()
    else:
        print_report(report, sys.stdout)
    return 0 if report.passed else 1


def _pair(text: str) -> tuple[str, str]:
    group, sep, address = text.partition("=")
    if not sep or not group or not address:
        raise ValueError(f"--as {text!r}: expected GROUP=ADDRESS")
    parse_host_port(address)  # an IP address
    return group, address


def _devices(path: Path) -> dict[str, str]:
    return selftest.device_addresses(parse_bindings(json.loads(path.read_text()), str(path)))


def print_report(report: selftest.SelfTestReport, out: TextIO) -> None:
    verdict = "PASSED" if report.passed else f"{len(report.mismatches)} MISMATCHES"
    out.write(
        f"Filtering self-test {report.started_at}: DNS {report.dns}, proxy {report.proxy}: "
        f"{verdict}\n"
    )
    for group, why in report.not_probed.items():
        out.write(f"  {group}: NOT PROBED: {why} (give --as {group}=ADDRESS)\n")
    diagnoses = report.diagnoses()
    for group, why in diagnoses.items():
        out.write(f"  {group}: {why}\n")
    for group, address in report.askers.items():
        out.write(f"\n{group} (asked from {address})\n")
        if group in diagnoses:
            out.write(f"  NOTE: {diagnoses[group]}\n")
        out.write(f"  {'category':<28} {'site':<32} {'expected':<9} {'DNS':<9} {'proxy':<9}\n")
        for r in (r for r in report.results if r.group == group):
            flag = "" if r.ok else "  <-- MISMATCH"
            dns = r.dns.outcome + ("" if r.dns_ok else "!")
            proxy = r.proxy.outcome + ("" if r.proxy_ok else "!")
            out.write(
                f"  {r.category[:28]:<28} {r.host[:32]:<32} {r.expected:<9} {dns:<9} {proxy:<9}"
                f"{flag}\n"
            )
    for r in (r for r in report.mismatches if r.group not in diagnoses):  # one cause: said above
        out.write(
            f"\nMISMATCH {r.group} {r.host}: expected {r.expected} (rule {r.rule}); "
            f"DNS {r.dns.outcome} ({r.dns.detail}); proxy {r.proxy.outcome} ({r.proxy.detail}"
            f"{', decided for ' + r.proxy.group if r.proxy.group else ''})\n"
        )
