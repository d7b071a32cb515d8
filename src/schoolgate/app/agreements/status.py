"""Who must sign which agreement, who has, and what is still missing.

A signature counts when it is on the current version of the text (`engine.agreements`: a changed
text asks everyone again) and still current under the agreement's `renew` rule (STM-228 and
CAV-071 each school year, yearly, on change). An agreement is complete when every
`required_signatories` entry has such a signature: the user, and a linked parent or carer where
the policy says so (STM-230, SH-098, CAV-029). `each-logon` agreements (TM-054) are accepted on
the gateway at every logon and are never complete here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schoolgate.app.agreements.models import Signatory, Signature
from schoolgate.app.people.models import User
from schoolgate.app.roles import Role
from schoolgate.engine.agreements import (
    EACH_LOGON,
    agreement_for_group,
    agreement_version,
    valid_until,
)
from schoolgate.engine.policy.schema import Agreement, Policy

_KIND_FOR_ROLE = {
    Role.PUPIL: "pupil",
    Role.GOVERNOR: "governor",
    Role.VOLUNTEER: "volunteer",
    Role.VISITOR: "visitor",
    Role.COMMUNITY: "community",
    Role.PARENT: "parent",
}


def group_of(user: User, policy: Policy) -> str | None:
    """The user's policy group: the directory's `policy_group`, else the first group of the
    kind their role suggests (key stage first for pupils, e.g. `pupil-ks1` for Year 2)."""
    if user.policy_group:
        return user.policy_group
    kind = _KIND_FOR_ROLE.get(Role(user.role), "staff")
    groups = [g for g in policy.groups if g.kind == kind]
    if kind == "pupil" and user.key_stage:
        stage = user.key_stage.lower().replace("eyfs", "ks1")
        groups = [g for g in groups if stage in g.id] or groups
    return groups[0].id if groups else None


def agreement_of(user: User, policy: Policy) -> Agreement | None:
    group = group_of(user, policy)
    return agreement_for_group(policy, group) if group else None


@dataclass
class AgreementStatus:
    user: User
    agreement: Agreement
    version: str
    signed: dict[str, Signature | None] = field(default_factory=dict)
    """For each required signatory, the signature that counts now (None: missing)."""
    each_logon: bool = False

    @property
    def complete(self) -> bool:
        return not self.each_logon and all(self.signed.values())

    @property
    def missing(self) -> list[str]:
        return [who for who, signature in self.signed.items() if signature is None]

    @property
    def complete_at(self) -> datetime | None:
        if not self.complete:
            return None
        return max(s.signed_at for s in self.signed.values() if s is not None)

    def valid_until(self, school_year_starts: str) -> datetime | None:
        ends = [
            valid_until(self.agreement.renew, s.signed_at, school_year_starts)
            for s in self.signed.values()
            if s is not None
        ]
        known = [e for e in ends if e is not None]
        return min(known) if known else None

    @property
    def waiting_for_parent(self) -> bool:
        return self.missing == [Signatory.PARENT] or (
            Signatory.PARENT in self.missing and Signatory.USER not in self.missing
        )


def status_of(
    user: User, policy: Policy, now: datetime, signatures: list[Signature] | None = None
) -> AgreementStatus | None:
    """`user`'s agreement status, or None if their group signs nothing. `signatures` may be
    given (the user's, newest first) to save a query per user in a register."""
    agreement = agreement_of(user, policy)
    if agreement is None:
        return None
    version = agreement_version(agreement)
    status = AgreementStatus(user, agreement, version, each_logon=agreement.renew == EACH_LOGON)
    if signatures is None:
        signatures = list(
            Signature.objects.filter(subject=user, agreement=agreement.id, version=version)
        )
    starts = policy.school.school_year_starts
    for who in agreement.required_signatories:
        status.signed[who] = next(
            (
                s
                for s in signatures
                if s.agreement == agreement.id
                and s.version == version
                and s.signatory == who
                and _current(agreement.renew, s.signed_at, now, starts)
            ),
            None,
        )
    return status


def _current(renew: str, signed_at: datetime, now: datetime, starts: str) -> bool:
    until = valid_until(renew, signed_at, starts)
    return until is None or now < until


def statuses(users: list[User], policy: Policy, now: datetime) -> list[AgreementStatus]:
    """Status of each user who must sign something, with one query for all the signatures."""
    by_user: dict[int, list[Signature]] = {}
    for signature in Signature.objects.filter(subject__in=users).order_by("-signed_at"):
        by_user.setdefault(signature.subject_id, []).append(signature)
    found = (status_of(u, policy, now, by_user.get(u.pk, [])) for u in users)
    return [s for s in found if s is not None]
