"""Running the filtering self-test from the staff app, and keeping its report as evidence.

The test itself is `schoolgate.gateway.selftest` (the same as `schoolgate selftest`): probe
sites per group and category, decided by the running gateway's DNS resolver and proxy
(`SCHOOLGATE_GATEWAY_DNS`, `SCHOOLGATE_GATEWAY_PROXY`) and compared with the policy in the
snapshot the gateway runs (`SCHOOLGATE_SNAPSHOT`). Each group is asked from an address the
gateway places in it: `SCHOOLGATE_SELFTEST_AS` (`group=address,...`), then devices the bindings
file gives a group without a user (the console's devices), then 127.0.0.1 for the default group
when the gateway is on this machine. Every run is stored whole (`SelfTestRun`) and audited; the
review's filtering check and the evidence pack point at the latest (STM-004, STM-316, STM-318).
"""

from __future__ import annotations

import json

from django.conf import settings

from schoolgate.app.audit import trail
from schoolgate.app.people.models import User
from schoolgate.app.reviews.models import SelfTestRun
from schoolgate.engine.snapshot import load_snapshot
from schoolgate.engine.taxonomy import CATEGORIES
from schoolgate.gateway import selftest
from schoolgate.gateway.identity import parse_bindings
from schoolgate.gateway.site import parse_host_port


class SelfTestError(ValueError):
    """The self-test cannot start; the message says what to set."""


def latest_run() -> SelfTestRun | None:
    return SelfTestRun.objects.first()


def run_selftest(user: User, request=None) -> SelfTestRun:
    try:
        dns = parse_host_port(settings.SCHOOLGATE_GATEWAY_DNS)
        proxy = parse_host_port(settings.SCHOOLGATE_GATEWAY_PROXY, default_port=3128)
    except ValueError as exc:
        raise SelfTestError(f"SCHOOLGATE_GATEWAY_DNS / _PROXY: {exc}") from None
    try:
        snapshot = load_snapshot(settings.SCHOOLGATE_SNAPSHOT)
    except (OSError, ValueError) as exc:
        raise SelfTestError(f"the gateway's snapshot cannot be read: {exc}") from None
    askers = selftest.askers_from(
        snapshot.policy,
        explicit=_explicit(settings.SCHOOLGATE_SELFTEST_AS),
        devices=_devices(),
        unclaimed="127.0.0.1" if dns[0] == "127.0.0.1" else None,
    )
    report = selftest.run_selftest(snapshot, dns, proxy, askers)
    run = SelfTestRun.objects.create(
        ran_by=user,
        dns=report.dns,
        proxy=report.proxy,
        passed=report.passed,
        probes=len(report.results),
        mismatches=len(report.mismatches),
        not_probed=len(report.not_probed),
        report=report.to_json(),
    )
    facts = {"passed": run.passed, "probes": run.probes, "mismatches": run.mismatches}
    trail.record(user, "review.selftest-run", run, facts, request)
    return run


def _explicit(text: str) -> dict[str, str]:
    pairs = [item.strip().partition("=") for item in text.split(",") if item.strip()]
    return {group.strip(): address.strip() for group, _, address in pairs if address}


def _devices() -> dict[str, str]:
    path = settings.SCHOOLGATE_BINDINGS_FILE
    try:
        bindings = parse_bindings(json.loads(path.read_text()), str(path))
    except (OSError, ValueError):
        return {}
    return selftest.device_addresses(bindings)


def report_of(run: SelfTestRun) -> selftest.SelfTestReport:
    return selftest.SelfTestReport.from_json(run.report)


OUTCOME_WORDS = {
    selftest.BLOCKED: "Blocked",
    selftest.ALLOWED: "Allowed",
    selftest.WARNED: "Warning page",
    selftest.AGREEMENT: "Agreement page",
    selftest.ERROR: "No answer",
}


def category_title(category: str) -> str:
    """`gambling` -> its taxonomy title; `site-list:x` -> "School list: x"; `help:X` -> X."""
    kind, _, name = category.partition(":")
    if kind == "site-list" and name:
        return f"School list: {name}"
    if kind == "help" and name:
        return f"Help service: {name}"
    found = CATEGORIES.get(category)
    return found.title if found else category


def matrix(report: selftest.SelfTestReport) -> tuple[list[str], list[dict]]:
    """Groups, and one row per category: per group whether every probe matched, and what the
    policy expects there, for the page's summary table."""
    groups = list(report.askers)
    named = [(g, report.titles.get(g, g)) for g in groups]
    titles = [title for _, title in named]
    rows: dict[str, dict] = {}
    for r in report.results:
        row = rows.setdefault(
            r.category, {"title": category_title(r.category), "cells": {g: None for g in groups}}
        )
        cell = row["cells"][r.group] or {"expected": OUTCOME_WORDS[r.expected], "ok": True}
        cell["ok"] = cell["ok"] and r.ok
        if not r.ok:
            cell.setdefault("seen", set()).add(_seen(r, report))
        row["cells"][r.group] = cell
    for row in rows.values():
        for cell in row["cells"].values():
            if cell and "seen" in cell:
                cell["seen"] = " or ".join(sorted(cell["seen"]))
    return titles, [
        {"title": row["title"], "cells": [(title, row["cells"][g]) for g, title in named]}
        for row in rows.values()
    ]


def _seen(r: selftest.ProbeResult, report: selftest.SelfTestReport) -> str:
    """What the gateway answered instead: the proxy's answer, else the resolver's; a right
    answer for the wrong group says which group it was decided for."""
    if r.proxy_ok:
        return OUTCOME_WORDS[r.dns.outcome]
    if r.proxy.outcome == r.expected and r.proxy.group:
        return f"Decided as {report.titles.get(r.proxy.group, r.proxy.group)}"
    return OUTCOME_WORDS[r.proxy.outcome]


def rows_by_group(report: selftest.SelfTestReport) -> list[dict]:
    out = []
    diagnoses = report.diagnoses()
    for group, address in report.askers.items():
        results = [r for r in report.results if r.group == group]
        out.append(
            {
                "group": group,
                "title": report.titles.get(group, group),
                "diagnosis": diagnoses.get(group, ""),
                "address": address,
                "mismatches": sum(1 for r in results if not r.ok),
                "rows": [_row(r) for r in results],
            }
        )
    return out


def _row(r: selftest.ProbeResult) -> dict:
    return {
        "category": category_title(r.category),
        "host": r.host,
        "expected": OUTCOME_WORDS[r.expected],
        "rule": r.rule or "",
        "dns": OUTCOME_WORDS[r.dns.outcome],
        "dns_expected": OUTCOME_WORDS[r.dns_expected],
        "dns_ok": r.dns_ok,
        "dns_detail": r.dns.detail,
        "proxy": OUTCOME_WORDS[r.proxy.outcome],
        "proxy_ok": r.proxy_ok,
        "proxy_detail": r.proxy.detail
        + (f"; decided for group {r.proxy.group}" if r.proxy.group not in (None, r.group) else ""),
        "ok": r.ok,
    }
