"""The policy's decision for the name asked, per subject (cached: `DecisionCache`).

Known DNS-over-HTTPS endpoints (a name or a parent of it, short of the top-level domain) are
blocked for everyone, with the policy's circumvention alert: a browser using one would bypass
the school's filtering. If the policy cannot be applied (the snapshot is unusable), the
policy's `fail_mode` decides (`failing.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from schoolgate.engine.decide import Decider, Decision, Subject
from schoolgate.engine.policy.schema import Action, AlertLevel
from schoolgate.engine.targets import Target
from schoolgate.gateway.decision_cache import DecisionCache
from schoolgate.gateway.dns.chain import Handler
from schoolgate.gateway.dns.request import DnsRequest, Reply
from schoolgate.gateway.failing import OPEN, failure_decision, failure_name

log = logging.getLogger(__name__)


def load_doh_domains(paths: Iterable[Path]) -> frozenset[str]:
    """Plain lists of DoH host names (`#` comments allowed), e.g. shared/data/doh-servers."""
    names: set[str] = set()
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            name = line.split("#", 1)[0].strip().lower().rstrip(".")
            if name:
                names.add(name)
    return frozenset(names)


class Filtering(Handler):
    def __init__(self, doh_domains: frozenset[str], cache: DecisionCache) -> None:
        self.doh_domains = doh_domains
        self.cache = cache
        self._decider: Decider | None = None
        self._circumvention_alert = AlertLevel.NONE
        self._fail_mode = "closed"

    def policy_changed(self, decider: Decider) -> None:
        self._decider = decider
        self._circumvention_alert = decider.policy.filtering.circumvention_alert
        self._fail_mode = decider.policy.filtering.fail_mode
        self.cache.clear()

    def resolve(self, request: DnsRequest) -> Reply:
        subject, name = request.subject, request.query.name
        if subject is None:
            return self.next.resolve(request)
        try:
            request.decision = self.decision(subject, name, request.moment)
        except Exception as exc:  # the snapshot cannot be applied: the policy's fail_mode
            log.exception("DNS: cannot decide on %s", name)
            why = failure_name(exc)
            request.decision = failure_decision(self._fail_mode, subject, name, why)
            if self._fail_mode == OPEN:
                request.unfiltered = why
        return self.next.resolve(request)

    def decision(self, subject: Subject, name: str, moment: datetime) -> Decision:
        """The policy's decision for `subject` asking for `name` (cached), DoH endpoints blocked;
        raises when the snapshot cannot be applied."""
        return self.cache.lookup(
            self._decider, (subject, name), lambda: self._fresh(subject, name, moment), moment
        )

    def _fresh(self, subject: Subject, name: str, moment: datetime) -> Decision:
        target = Target(host=name)
        decision = self._decider.decide(subject, target, moment)
        if decision.action is not Action.BLOCK and self._is_doh(target):
            decision = decision.replace(
                action=Action.BLOCK,
                categories=tuple(sorted({*decision.categories, "doh"})),
                rule="doh-endpoint",
                reason="DNS over HTTPS would bypass the school's filtering.",
                alert=AlertLevel.highest(decision.alert, self._circumvention_alert),
            )
        return decision

    def _is_doh(self, target: Target) -> bool:
        return bool(self.doh_domains) and not self.doh_domains.isdisjoint(target.suffixes()[:-1])
