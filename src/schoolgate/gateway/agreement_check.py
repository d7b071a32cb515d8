"""The one agreement check the DNS resolver, the proxy, the pages server and the Squid helper make.

"No signed agreement, no access" (STM-228, STM-282, CAV-031, SH-098, TM-004, HG-072): a subject
whose group must sign gets `Subject.agreement=False`, and the decider blocks everything but the
help services, until

- the staff app has published a complete agreement for them on the current version of the text
  (`AgreementState`: every required signatory, e.g. the parent's countersignature at St Thomas
  More, St Hilary's and Cavendish), or
- where the user alone signs (Thomas Mills, Heanor Gate, staff), they clicked "I agree" on the
  gateway's agreement page (`SignatureStore`), still current under the agreement's `renew` rule.
  An `each-logon` acceptance (TM-054, TM-S01) counts only for the logon it was made in: it must
  be later than the logon time the identity binding carries.

A pupil's own click never stands in for a parent's countersignature (STM-230, STM-S02).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from schoolgate.engine.agreements import (
    EACH_LOGON,
    agreement_for_group,
    agreement_version,
    needs_more_than_the_user,
    satisfied_for_logon,
)
from schoolgate.engine.decide import Decider, Subject
from schoolgate.gateway.agreement_state import AgreementState
from schoolgate.gateway.proxy.records import SignatureStore


def subject_key(user: str | None, address: str) -> str:
    """The key records are filed under: the signed-in user, else the device's address."""
    return f"user:{user}" if user else f"address:{address}"


@dataclass(frozen=True, slots=True)
class Gate:
    """What one group must sign, worked out once per policy (DNS asks on every query)."""

    agreement_id: str
    renew: str
    version: str | None
    user_alone: bool
    school_year_starts: str


class AgreementCheck:
    def __init__(
        self,
        state: AgreementState | None = None,
        signatures: SignatureStore | None = None,
        logon_time: Callable[[str], datetime | None] | None = None,
    ) -> None:
        """`logon_time(address)`: when the user bound to `address` logged on (for each-logon)."""
        self.state = state or AgreementState(None)
        self.signatures = signatures
        self.logon_time = logon_time
        self._gates: dict[str, Gate | None] = {}
        self._gates_for: object = None

    @staticmethod
    def agreement_of(decider: Decider, group_id: str) -> tuple[str | None, str]:
        """(agreement id, renew rule) the group must sign, or (None, "never") if ungated."""
        try:
            group = decider.policy.group(group_id)
        except KeyError:
            return None, "never"
        if not group.agreement_required:
            return None, "never"
        agreement = agreement_for_group(decider.policy, group_id)
        if agreement is not None:
            return agreement.id, agreement.renew
        return group.agreement or f"{group_id}-agreement", "yearly"

    def gate(self, decider: Decider, group_id: str) -> Gate | None:
        policy = decider.policy
        if self._gates_for is not policy:
            self._gates, self._gates_for = {}, policy
        if group_id not in self._gates:
            agreement_id, renew = self.agreement_of(decider, group_id)
            agreement = agreement_for_group(policy, group_id)
            self._gates[group_id] = (
                None
                if agreement_id is None
                else Gate(
                    agreement_id,
                    renew,
                    agreement_version(agreement) if agreement is not None else None,
                    agreement is None or not needs_more_than_the_user(agreement),
                    policy.school.school_year_starts,
                )
            )
        return self._gates[group_id]

    def has_signed(self, key: str, decider: Decider, group_id: str, address: str = "") -> bool:
        gate = self.gate(decider, group_id)
        if gate is None:
            return True
        now = datetime.now(UTC)
        if self.state.is_satisfied(key, gate.agreement_id, now, version=gate.version):
            return True
        if not gate.user_alone or self.signatures is None:
            return False  # only the published state carries a parent's countersignature
        local_now = decider.local_time(now)
        if gate.renew == EACH_LOGON:
            signed = self.signatures.signed_at(key, gate.agreement_id)
            logon = self.logon_time(address) if self.logon_time and address else None
            if signed is None or logon is None:  # no logon known: the acceptance lasts the day
                return self.signatures.is_current(key, gate.agreement_id, "daily", local_now)
            aware = signed.replace(tzinfo=decider.zone) if signed.tzinfo is None else signed
            return satisfied_for_logon(aware, logon)
        return self.signatures.is_current(
            key, gate.agreement_id, gate.renew, local_now, gate.school_year_starts
        )

    def apply(self, subject: Subject, address: str, decider: Decider) -> Subject:
        """`subject` with `agreement` set from the published state and the signatures."""
        group_id = subject.group or decider.default_group
        key = subject_key(subject.user, address)
        signed = self.has_signed(key, decider, group_id, address)
        if signed == subject.agreement:
            return subject
        return dataclasses.replace(subject, agreement=signed)
