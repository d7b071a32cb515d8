"""The filtering self-test: probes per group and category, decided by the *running* gateway.

Like the SWGfL test-filtering service, but for every group the policy names (STM-004 annual
monitoring, DfE filtering standard 2; STM-316 "sites accessed that should have been filtered";
STM-318 illegal content blocked via the IWF list; STM-326 "filtering is never 100%").

1. **Probe targets** (`probe_targets`): for each category the policy's rules name, the first
   host names on that category's lists in the compiled snapshot (list order: the lists the
   snapshot was compiled from), and the first site of each of the policy's own site lists and
   help services (a help service must never be blocked). Hashed lists (IWF, CTIRU) cannot be
   read back into names, so illegal categories are probed only where a plain list names a host.
2. **Expected**: the engine's decision for the group on the same snapshot (agreement signed).
   DNS sees host names only and cannot show a warning page, so a warned site is expected to
   resolve there.
3. **Observed**, per group, from a source address the gateway places in that group (a log-on
   binding, an address range or a subnet, `gateway/asking.py`; `--as GROUP=ADDRESS`):
   - DNS: an `A` query to the running resolver carrying the self-test EDNS option. A block is an
     answer with the Extended DNS Error "Blocked" (RFC 8914) the resolver adds to block answers;
     anything else the resolver answers itself, never forwarded, with the Extended DNS Error
     "Other" saying `schoolgate selftest: allow` (`dns/probing.py`).
   - Proxy: `HEAD http://host/` with `X-Schoolgate-Probe`. The proxy decides as for any visit but
     never fetches an allowed probe: it answers 204. Its `X-Schoolgate-Decision` and `-Group`
     headers say what it decided and for which group; a block or warning comes with the page a
     browser would get, and an unsigned agreement with the redirect to the agreement page.
   Probes are journalled (`extra.selftest`) but raise no alert (monitor/rules.py), so asking for
   an illegal site on purpose does not page the DSL. Nothing is ever fetched.
4. **The report**: group x category -> expected vs observed via DNS and via the proxy, with
   every mismatch listed (`SelfTestReport`, JSON for the staff app and `--json`).
"""

from __future__ import annotations

import http.client
import ipaddress
import random
import socket
import struct
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from schoolgate.engine.decide import Decider, Subject
from schoolgate.engine.policy.schema import Action, Policy
from schoolgate.engine.snapshot import Snapshot
from schoolgate.engine.targets import Target
from schoolgate.gateway.dns import wire
from schoolgate.gateway.dns.probing import NOTE as PROBE_NOTE

PER_CATEGORY = 2
"""Host names probed per category."""
TIMEOUT = 3.0

BLOCKED, ALLOWED, WARNED, AGREEMENT, ERROR = "block", "allow", "warn", "agreement", "error"


@dataclass(frozen=True)
class Probe:
    category: str
    """The category probed, or `site-list:<id>` / `help:<name>` for the policy's own lists."""
    host: str


@dataclass
class Observed:
    outcome: str
    """block, allow, warn, agreement (the agreement page) or error."""
    detail: str = ""
    group: str | None = None
    """The group the gateway said it decided for (the proxy says; DNS cannot)."""


@dataclass
class ProbeResult:
    group: str
    category: str
    host: str
    expected: str
    rule: str | None
    dns: Observed
    proxy: Observed

    @property
    def dns_expected(self) -> str:
        return BLOCKED if self.expected == BLOCKED else ALLOWED

    @property
    def dns_ok(self) -> bool:
        return self.dns.outcome == self.dns_expected

    @property
    def proxy_ok(self) -> bool:
        return self.proxy.outcome == self.expected and self.proxy.group in (None, self.group)

    @property
    def ok(self) -> bool:
        return self.dns_ok and self.proxy_ok


@dataclass
class SelfTestReport:
    started_at: str
    finished_at: str
    dns: str
    proxy: str
    policy_sha256: str
    askers: dict[str, str]
    """group -> the source address its probes were sent from."""
    not_probed: dict[str, str] = field(default_factory=dict)
    """group -> why it was not probed (no address the gateway places in it)."""
    results: list[ProbeResult] = field(default_factory=list)
    titles: dict[str, str] = field(default_factory=dict)
    """group -> its title in the policy, for people reading the report."""

    @property
    def mismatches(self) -> list[ProbeResult]:
        return [r for r in self.results if not r.ok]

    def diagnoses(self) -> dict[str, str]:
        """group -> the one cause behind all its proxy mismatches, when there is one: the
        gateway puts the test address in another group, or the address has not signed the
        group's agreement. One line to act on instead of a mismatch per probe."""
        found = {}
        for group, address in self.askers.items():
            rows = [r for r in self.results if r.group == group]
            others = {r.proxy.group for r in rows} - {None, group}
            if rows and len(others) == 1 and all(r.proxy.group in others for r in rows):
                found[group] = (
                    f"the gateway puts {address} in group {others.pop()}, not {group}: check "
                    "the subnets and bindings, or ask from another address"
                )
            elif (
                rows
                and all(r.proxy.outcome in (AGREEMENT, ALLOWED) for r in rows)
                and any(r.proxy.outcome == AGREEMENT for r in rows)
            ):
                found[group] = (
                    f"{address} has not signed the group's acceptable use agreement, so the "
                    "proxy showed the agreement page (and DNS may answer every name with the "
                    "block page until it is signed): sign it from that device and run again"
                )
        return found

    @property
    def passed(self) -> bool:
        return bool(self.results) and not self.mismatches and not self.not_probed

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for row, result in zip(data["results"], self.results, strict=True):
            row.update(dns_expected=result.dns_expected, dns_ok=result.dns_ok)
            row.update(proxy_ok=result.proxy_ok, ok=result.ok)
        return {
            **data,
            "passed": self.passed,
            "mismatches": len(self.mismatches),
            "diagnoses": self.diagnoses(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SelfTestReport:
        names = ("group", "category", "host", "expected", "rule")
        results = [
            ProbeResult(
                **{k: r[k] for k in names}, dns=Observed(**r["dns"]), proxy=Observed(**r["proxy"])
            )
            for r in data["results"]
        ]
        keep = ("started_at", "finished_at", "dns", "proxy", "policy_sha256", "askers")
        return cls(
            **{k: data[k] for k in keep},
            not_probed=data["not_probed"],
            results=results,
            titles=data.get("titles", {}),
        )


# Probe targets --------------------------------------------------------------------------------


def probe_targets(snapshot: Snapshot, per_category: int = PER_CATEGORY) -> list[Probe]:
    """The first listed host names of every category the policy's rules name, then the first
    site of each of the policy's site lists and help services."""
    policy = snapshot.policy
    wanted = list(dict.fromkeys(c for rule in policy.rules for c in rule.categories))
    index = snapshot.index
    bits = {c: 1 << index.categories.index(c) for c in wanted if c in index.categories}
    found: dict[str, list[str]] = {c: [] for c in bits}
    open_bits = sum(bits.values())
    for domain, mask in index.domains.items():
        if not mask & open_bits or not _probe_host(domain):
            continue
        for category, bit in bits.items():
            if mask & bit and len(found[category]) < per_category:
                found[category].append(domain)
                if len(found[category]) == per_category:
                    open_bits &= ~bit
        if not open_bits:
            break
    probes = [Probe(c, host) for c in wanted for host in found.get(c, [])]
    probes += _policy_sites(policy)
    return list(dict.fromkeys(probes))


def _policy_sites(policy: Policy) -> list[Probe]:
    probes = []
    for site_list in policy.sites:
        if not site_list.users and site_list.until is None:  # not a personal exception
            host = next((s for s in site_list.sites if _probe_host(s)), None)
            if host:
                probes.append(Probe(f"site-list:{site_list.id}", host))
    for service in policy.support_services:
        host = next((s for s in service.sites if _probe_host(s)), None)
        if host:
            probes.append(Probe(f"help:{service.name}", host))
    return probes


def _probe_host(entry: str) -> bool:
    """A plain host name (no path, no wildcard, not an address) a DNS query can ask for."""
    if "/" in entry or "*" in entry or "." not in entry or len(entry) > 200:
        return False
    try:
        ipaddress.ip_address(entry)
        return False
    except ValueError:
        return all(part and len(part) <= 63 and part.isascii() for part in entry.split("."))


def expected(decider: Decider, group: str, host: str, moment: datetime) -> tuple[str, str | None]:
    decision = decider.decide(Subject(group=group), Target(host=host), moment)
    return decision.action.value, decision.rule


# Asking the running gateway ---------------------------------------------------------------------


def ask_dns(server: tuple[str, int], source: str, host: str, timeout: float = TIMEOUT) -> Observed:
    """An `A` query for `host` from `source`, marked as a self-test probe."""
    qid = random.randrange(65536)
    option = struct.pack(">HH", wire.SELFTEST_OPTION, 0)
    opt = b"\x00" + wire.RR_FIXED.pack(wire.OPT, wire.EDNS_PAYLOAD, 0, len(option)) + option
    packet = (
        wire.HEADER.pack(qid, wire.RD, 1, 0, 0, 1)
        + wire.encode_name(host)
        + wire.QUESTION_FIXED.pack(wire.A, wire.CLASS_IN)
        + opt
    )
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.bind((source, 0))
            sock.sendto(packet, server)
            while True:
                data, _ = sock.recvfrom(4096)
                if data[:2] == packet[:2]:
                    break
        except OSError as exc:
            return Observed(ERROR, f"DNS {server[0]}:{server[1]} from {source}: {exc}")
    return _dns_outcome(data)


def _dns_outcome(data: bytes) -> Observed:
    try:
        _, rcode, records = wire.parse_records(data)
    except wire.WireError as exc:
        return Observed(ERROR, f"unreadable answer: {exc}")
    errors = [_ede(r.rdata) for r in records if r.rtype == wire.OPT]
    addresses = [socket.inet_ntoa(r.rdata) for r in records if r.rtype == wire.A]
    said = ", ".join(addresses) or {0: "no address", 3: "NXDOMAIN"}.get(rcode, f"rcode {rcode}")
    if any(code == wire.EDE_BLOCKED for code, _ in errors if code is not None):
        return Observed(BLOCKED, f"blocked ({said})")
    notes = [text for code, text in errors if code == wire.EDE_OTHER]
    if any(text.startswith(PROBE_NOTE) for text in notes):  # decided, not looked up
        return Observed(ALLOWED, notes[0].removeprefix(PROBE_NOTE))
    if rcode not in (wire.NOERROR, wire.NXDOMAIN):
        return Observed(ERROR, f"rcode {rcode}")
    return Observed(ALLOWED, said)


def _ede(options: bytes) -> tuple[int | None, str]:
    """The Extended DNS Error's info-code and text in an OPT record's data, if any."""
    at = 0
    while at + 4 <= len(options):
        code, length = struct.unpack_from(">HH", options, at)
        if code == wire.EDE and length >= 2:
            text = options[at + 6 : at + 4 + length].decode("utf-8", "replace")
            return struct.unpack_from(">H", options, at + 4)[0], text
        at += 4 + length
    return None, ""


def ask_proxy(proxy: tuple[str, int], source: str, host: str, timeout: float = TIMEOUT) -> Observed:
    """`HEAD http://host/` through the proxy from `source`, as a probe (never fetched)."""
    connection = http.client.HTTPConnection(*proxy, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("HEAD", f"http://{host}/", headers={"X-Schoolgate-Probe": "1"})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return Observed(ERROR, f"proxy {proxy[0]}:{proxy[1]} from {source}: {exc}")
    finally:
        connection.close()
    decided, group = (
        response.getheader("X-Schoolgate-Decision"),
        response.getheader("X-Schoolgate-Group"),
    )
    rule = response.getheader("X-Schoolgate-Rule") or ""
    detail = f"{response.status} {response.reason}" + (f", rule {rule}" if rule else "")
    if response.status == 407:
        return Observed(
            ERROR, f"{detail}: the proxy asks everyone to sign in; the self-test asks by address"
        )
    if decided is None:
        return Observed(ERROR, f"{detail}: not a Schoolgate proxy probe answer")
    if rule == "agreement-required":
        return Observed(
            AGREEMENT, f"{detail}: {source} has not signed the group's agreement", group
        )
    if decided == Action.ALLOW.value:
        outcome = ALLOWED if response.status == 204 else ERROR  # 204: answered, never fetched
        return Observed(outcome, detail, group)
    if decided in (BLOCKED, WARNED) and response.status in (200, 403):  # the gateway's page
        return Observed(decided, detail, group)
    return Observed(ERROR, f"{detail}: decision {decided}", group)


# The run ------------------------------------------------------------------------------------------


def run_selftest(
    snapshot: Snapshot,
    dns: tuple[str, int],
    proxy: tuple[str, int],
    askers: Mapping[str, str],
    probes: Iterable[Probe] | None = None,
) -> SelfTestReport:
    """Every probe for every group with an address in `askers` (group -> source address)."""
    decider = Decider(snapshot)
    probes = list(probe_targets(snapshot) if probes is None else probes)
    groups = [g.id for g in snapshot.policy.groups]
    report = SelfTestReport(
        started_at=_now(),
        finished_at="",
        dns=f"{dns[0]}:{dns[1]}",
        proxy=f"{proxy[0]}:{proxy[1]}",
        policy_sha256=snapshot.policy_sha256,
        askers={g: askers[g] for g in groups if g in askers},
        not_probed={
            g: "no address the gateway places in this group" for g in groups if g not in askers
        },
        titles={g.id: g.title for g in snapshot.policy.groups},
    )
    dns_down = proxy_down = None  # once a service does not answer, it is not asked again
    for group, source in report.askers.items():
        for probe in probes:
            action, rule = expected(decider, group, probe.host, datetime.now(UTC))
            by_dns = dns_down or ask_dns(dns, source, probe.host)
            by_proxy = proxy_down or ask_proxy(proxy, source, probe.host)
            dns_down = dns_down or _unreachable(by_dns)
            proxy_down = proxy_down or _unreachable(by_proxy)
            report.results.append(
                ProbeResult(group, probe.category, probe.host, action, rule, by_dns, by_proxy)
            )
    report.finished_at = _now()
    return report


def _unreachable(observed: Observed) -> Observed | None:
    """A service that timed out or refused is not asked again in this run: a gateway that is
    down would otherwise cost a timeout per probe."""
    down = any(word in observed.detail for word in ("timed out", "refused"))
    if observed.outcome == ERROR and down:
        return Observed(ERROR, f"not asked: {observed.detail}")
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# Who asks for each group ----------------------------------------------------------------------


def askers_from(
    policy: Policy,
    *,
    explicit: Mapping[str, str] | None = None,
    devices: Mapping[str, str] | None = None,
    unclaimed: str | None = None,
) -> dict[str, str]:
    """group -> source address: `explicit` (`--as GROUP=ADDRESS`) first, then devices the
    bindings file gives a group without a user (`devices`: address -> group; never a person's
    binding, or the probes would be journalled as that person's visits), each only if this
    machine can send from it; `unclaimed` (an address no binding or subnet claims) asks for the
    policy's default group."""
    askers = {g: a for g, a in (explicit or {}).items()}
    for address, group in sorted((devices or {}).items()):
        if group not in askers and can_send_from(address):
            askers[group] = address
    default = policy.filtering.default_group
    if unclaimed and default not in askers and unclaimed not in (devices or {}):
        askers[default] = unclaimed
    return askers


def device_addresses(bindings: Mapping[str, Any]) -> dict[str, str]:
    """address -> group for the bindings that name a device's group and no user."""
    return {
        address: binding.group
        for address, binding in bindings.items()
        if "/" not in address and binding.group and not binding.user
    }


def can_send_from(address: str) -> bool:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True
