"""Whether the gateway may decrypt HTTPS to a host: the policy's `https` section as a plan.

Order (the first that applies wins):
1. the protected sets (banking, health, government, certificate-pinning apps), the policy's
   support services and its `never_inspect` entries: never — `never_inspect` always wins;
2. inspection is off (`https.enabled: false`, the default): not inspected;
3. the policy's `inspect` entries (default: `@search-engines`, `@youtube`): inspect;
4. anything else: tunnelled untouched.

A host's categories come from the same compiled index the decisions use, so `category:banking`
covers every bank on the lists. Pure: no I/O, no clock.

Requirement ids: STM-079 and STM-210 (use is monitored and users are told), SH-024 (search
terms scanned), TM-006 (no searching for inappropriate material).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from schoolgate.engine.https_sets import PROTECTED_SETS, SETS, HostSet, host_name
from schoolgate.engine.policy.schema import Policy
from schoolgate.engine.targets import TargetError, parse_target


@dataclass(frozen=True, slots=True)
class InspectChoice:
    inspect: bool
    reason: str
    """Why, in words for the journal and the docs (`never inspected (@banking)`)."""
    protected: bool = False
    """On a never-inspect list: not decrypted for any purpose."""


@dataclass(slots=True)
class _Matcher:
    """Host suffixes, category bits and patterns, each labelled with the entry it came from."""

    suffixes: dict[str, str]
    category_mask: list[tuple[int, str]]
    patterns: list[tuple[Any, str]]

    @classmethod
    def of(cls, entries: list[str], index: Any) -> _Matcher:
        matcher = cls({}, [], [])
        for entry in entries:
            if entry.startswith("@"):
                matcher._add_set(SETS[entry[1:]], entry, index)
            elif entry.startswith("category:"):
                matcher._add_categories([entry.removeprefix("category:")], entry, index)
            else:
                matcher.suffixes.setdefault(host_name(entry), entry)
        return matcher

    def _add_set(self, host_set: HostSet, label: str, index: Any) -> None:
        for suffix in host_set.suffixes:
            self.suffixes.setdefault(suffix, label)
        self.patterns.extend((p, label) for p in host_set.patterns)
        self._add_categories(sorted(host_set.categories), label, index)

    def _add_categories(self, categories: list[str], label: str, index: Any) -> None:
        names = list(index.categories)
        mask = sum(1 << names.index(c) for c in categories if c in names)
        if mask:
            self.category_mask.append((mask, label))

    def match(self, host: str, suffixes: list[str], mask: int) -> str | None:
        for suffix in suffixes:
            label = self.suffixes.get(suffix)
            if label is not None:
                return label
        for category_mask, label in self.category_mask:
            if mask & category_mask:
                return label
        for pattern, label in self.patterns:
            if pattern.match(host):
                return label
        return None


class InspectionPlan:
    """Built once per snapshot (anything with `.policy` and `.index`)."""

    def __init__(self, snapshot: Any) -> None:
        policy: Policy = snapshot.policy
        self.index = snapshot.index
        self.enabled = policy.https.enabled
        protected = [f"@{name}" for name in PROTECTED_SETS]
        support = [_support_host(s) for svc in policy.support_services for s in svc.sites]
        self._never = _Matcher.of(protected + policy.https.never_inspect, self.index)
        for host in filter(None, support):
            self._never.suffixes.setdefault(host, "support services")
        self._inspect = _Matcher.of(policy.https.inspect, self.index)

    def choice(self, host: str) -> InspectChoice:
        """Whether to decrypt HTTPS to `host`. `protected` choices (never inspected) hold even
        when inspection is off: such a host is not decrypted even to show a block page."""
        try:
            target = parse_target(host)
        except TargetError:
            return InspectChoice(False, "not a host name", protected=True)
        suffixes = target.suffixes()
        mask = self.index.mask_for(target)
        never = self._never.match(target.host, suffixes, mask)
        if never is not None:
            return InspectChoice(False, f"never inspected ({never})", protected=True)
        if not self.enabled:
            return InspectChoice(False, "HTTPS inspection is off in the policy")
        wanted = self._inspect.match(target.host, suffixes, mask)
        if wanted is not None:
            return InspectChoice(True, f"inspected ({wanted})")
        return InspectChoice(False, "not on the policy's inspect list")


def _support_host(site: str) -> str | None:
    try:
        return parse_target(site).host
    except TargetError:
        return None
