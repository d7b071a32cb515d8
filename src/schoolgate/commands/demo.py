"""`schoolgate demo`: the demo school from a fresh checkout, explained step by step.

Validates the demo policy, renders it as a readable document into var/demo/, compiles it with the
default list manifest (lists/default.yaml over the shared data), shows a few decisions (allowed,
blocked, warned, a worrying search), then runs `schoolgate serve` unless --no-serve. The
README's `make demo` runs this.

Once serving, it shows the product rather than only the walled garden: three demo devices on
loopback addresses (a KS2 laptop, a staff laptop, a visitor's phone; `gateway/demo_devices.py`)
have signed their agreements and are bound to their groups, each printed with a ready `curl`
line; the demo sends one worrying search from the KS2 laptop, so the console's query log and the
alerts have something in them, and prints where to look.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.commands.serve import (
    ServeOptions,
    add_serve_arguments,
    compile_into_var,
    free_ports,
    options_from,
    serve_snapshot,
)
from schoolgate.engine.agreements import (
    agreement_for_group,
    agreement_version,
    needs_more_than_the_user,
)
from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.loader import PolicyError, load_policy
from schoolgate.engine.policy.render import write_documents
from schoolgate.engine.policy.schema import Action
from schoolgate.engine.snapshot import load_snapshot
from schoolgate.gateway.agreement_state import AGREEMENT_STATE_FILE, publish_demo_agreements
from schoolgate.gateway.demo_devices import DemoDevice, demo_devices
from schoolgate.gateway.proxy.gateway_pages import GatewayPages
from schoolgate.gateway.proxy.records import SignatureStore
from schoolgate.gateway.site import parse_host_port

ALLOWED_CANDIDATES = ["https://www.bbc.co.uk/bitesize", "https://www.wikipedia.org/"]
BLOCKED_CANDIDATES = ["http://www.pornhub.com/", "https://www.bet365.com/", "https://4chan.org/"]
SEARCH = "https://www.google.com/search?q=how+to+kill+myself"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="validate, render and try the demo policy, then serve it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_serve_arguments(parser)
    parser.add_argument("--no-serve", action="store_true", help="stop after the examples")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = dataclasses.replace(options_from(args), demo_users=True)
    step(1, "Check the policy file")
    try:
        policy = load_policy(options.policy)
    except PolicyError as error:
        for problem in error.problems:
            print(f"   {problem}", file=sys.stderr)
        return 1
    print(
        f"   {options.policy} is valid: {policy.school.name} — {len(policy.groups)} groups, "
        f"{len(policy.rules)} access rules, {len(policy.sites)} site lists, "
        f"{len(policy.keyword_rules)} keyword rules"
    )
    step(2, "Render it as a document people can read")
    for path in write_documents(policy, options.var / "demo"):
        print(f"   {path}")
    step(3, "Compile it with the category lists into a snapshot")
    if not options.lists:
        print(f"   (no list data under {options.data_root}: only the policy's own sites)")
    snapshot_path = compile_into_var(options)
    step(4, "Try some decisions (`schoolgate check` does this for any address)")
    decider = Decider(load_snapshot(snapshot_path))
    show_examples(decider)
    if args.no_serve:
        return 0
    step(5, "Run the gateway")
    options = free_ports(options)
    devices = demo_devices(policy)
    sign_agreements(options.var / "gateway", decider, devices)
    shown = options
    options = dataclasses.replace(
        options, on_ready=lambda proxy: tour(proxy, decider, devices, shown)
    )
    return serve_snapshot(options, snapshot_path)


def sign_agreements(state_dir: Path, decider: Decider, devices: list[DemoDevice]) -> None:
    """The demo devices have signed their groups' agreements (127.0.0.1 has not). Where the
    policy also needs a parent's countersignature (St Thomas More's pupils), the demo records the
    device's agreement as complete in the published agreement state, marked `demo`."""
    signatures = SignatureStore(state_dir / "signatures.jsonl")
    now = decider.local_time(datetime.now(UTC))
    complete: dict[str, dict] = {}
    for device in devices:
        agreement, renew = GatewayPages._agreement_of(decider, device.group)
        key = f"address:{device.address}"
        if agreement and not signatures.is_current(key, agreement, renew, now):
            signatures.sign(key, agreement, now, group=device.group, demo=True)
        full = agreement_for_group(decider.policy, device.group)
        if full is not None and needs_more_than_the_user(full):
            complete[key] = {
                full.id: {
                    "version": agreement_version(full),
                    "complete_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "valid_until": None,
                    "demo": True,
                }
            }
    if complete:
        publish_demo_agreements(state_dir / AGREEMENT_STATE_FILE, complete)


def tour(proxy: str, decider: Decider, devices: list[DemoDevice], options: ServeOptions) -> None:
    """Once everything is up: a curl line per device, and one worrying search to look up."""
    time.sleep(1.5)  # the app has published the devices; the gateway re-reads within a second
    host, port = parse_host_port(proxy, 3128)
    lines = ["Demo devices (each is a loopback address bound to a group in the console):"]
    for device in devices:
        url = tour_url(decider, device)
        lines.append(f"  {device.name} ({device.group}):")
        lines.append(f"    curl -si --interface {device.address} -x http://{proxy} {url}")
    lines.append(f"  This machine (127.0.0.1): {decider.default_group}, agreement not signed yet")
    pupil = next((d for d in devices if d.group != decider.default_group), None)
    if pupil is not None:
        alert = decider.decide(Subject(pupil.group), SEARCH, datetime.now(UTC)).alert.value
        _fetch_from(pupil.address, host, port, "http://" + SEARCH.split("://", 1)[1])
        app = f"http://{options.address}:{options.ports['app']}"
        lines += [
            "",
            f"The demo just searched “how to kill myself” from {pupil.name} ({pupil.address}):",
            f"  the gateway recorded it with a {alert} alert for the safeguarding team.",
            f"  Query log:     {app}/console/queries/?address={pupil.address}  (sign in: netman)",
        ]
        if _answers(options.address, options.ports["app"], "/inbox/"):
            lines.append(f"  Alerts inbox:  {app}/inbox/  (sign in: dsl)")
    print("\n".join(lines) + "\n", flush=True)


def tour_url(decider: Decider, device: DemoDevice) -> str:
    """A plain-HTTP address worth trying from `device` (`curl -x` shows its block page): the
    pupil laptop a block, the staff laptop a warning, the visitor an allowed site."""
    warned = warn_example(decider)
    if warned is not None and warned.group == device.group:
        return "http://" + warned.target.split("://", 1)[-1]
    if decider.policy.group(device.group).kind == "pupil":
        for candidate in BLOCKED_CANDIDATES:
            decision = decider.decide(Subject(device.group), candidate, datetime.now(UTC))
            if decision.action is Action.BLOCK:
                return "http://" + candidate.split("://", 1)[1]
    return "http://" + ALLOWED_CANDIDATES[0].split("://", 1)[1]


def _answers(host: str, port: int, path: str) -> bool:
    """Whether the staff app has a page at `path` (the alerts inbox arrives with issue 13)."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
    except OSError:
        return False
    return status != 404


def _fetch_from(source: str, host: str, port: int, url: str) -> None:
    """One request through the proxy from `source`; what matters is the journal entry."""
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10, source_address=(source, 0))
        conn.request("GET", url)
        conn.getresponse().read()
        conn.close()
    except OSError as exc:
        print(f"  (the demo search was not sent: {exc})", flush=True)


def step(number: int, title: str) -> None:
    print(f"\n{number}. {title}", flush=True)


def show_examples(decider: Decider) -> None:
    policy = decider.policy
    # A pupil group outside any walled garden shows the category rules and keyword alerts.
    pupils = [g for g in policy.groups if g.kind == "pupil"]
    open_pupils = [g.id for g in pupils if not g.walled_garden]
    pupil = open_pupils[0] if open_pupils else decider.default_group
    staff = next((g.id for g in policy.groups if g.kind == "staff"), pupil)
    examples = [
        ("allowed", first_with(decider, staff, ALLOWED_CANDIDATES, Action.ALLOW)),
        ("blocked", first_with(decider, pupil, BLOCKED_CANDIDATES, Action.BLOCK)),
        ("warned", warn_example(decider)),
        ("search alert", decider.decide(Subject(pupil), SEARCH, datetime.now(UTC))),
    ]
    for label, decision in examples:
        if decision is None:
            print(f"\n   {label}: (this policy has no rule with that outcome)")
            continue
        print_decision(label, decision)


def first_with(decider: Decider, group: str, urls: list[str], action: Action) -> Decision | None:
    decisions = [decider.decide(Subject(group), url, datetime.now(UTC)) for url in urls]
    return next((d for d in decisions if d.action is action), decisions[0])


def warn_example(decider: Decider) -> Decision | None:
    for site_list in decider.policy.sites:
        if site_list.action is Action.WARN:
            group = site_list.groups[0]
            group = decider.default_group if group == "all" else group
            return decider.decide(Subject(group), site_list.sites[0], datetime.now(UTC))
    for rule in decider.policy.rules:
        if rule.action is Action.WARN and not rule.periods:
            domain = domain_in(decider, rule.categories)
            group = decider.default_group if rule.groups[0] == "all" else rule.groups[0]
            if domain:
                return decider.decide(Subject(group), domain, datetime.now(UTC))
    return None


def domain_in(decider: Decider, categories: list[str]) -> str | None:
    index = decider.index
    mask = 0
    for category in categories:
        if category in index.categories:
            mask |= 1 << index.categories.index(category)
    return next((d for d, m in index.domains.items() if m & mask), None) if mask else None


def print_decision(label: str, decision: Decision) -> None:
    print(f"\n   {label}: {decision.target} for group {decision.group}")
    print(f"     → {decision.action.value.upper()} by rule {decision.rule}", end="")
    if decision.categories:
        print(f" (categories: {', '.join(decision.categories)})", end="")
    print()
    if decision.alert.value != "none":
        notify = ", ".join(decision.notify) or "nobody"
        print(f"     → alert {decision.alert.value}, tell {notify}")
    for line in textwrap.wrap(decision.reason, 88):
        print(f"       {line}")
