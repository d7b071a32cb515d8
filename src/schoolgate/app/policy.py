"""The school's policy file, loaded once and reloaded when it changes.

Incident types, sanctions, referrals and contacts are read from here and never copied into
the database; cases store only the ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.policy.schema import IncidentType, Policy, SanctionAction, SanctionMatrix

_cache: dict[Path, tuple[float, Policy]] = {}


def current_policy() -> Policy:
    path = Path(settings.SCHOOLGATE_POLICY)
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached[0] != mtime:
        _cache[path] = (mtime, load_policy(path))
    return _cache[path][1]


@dataclass(frozen=True)
class IncidentChoice:
    applies_to: str
    incident: IncidentType
    matrix: SanctionMatrix

    @property
    def key(self) -> str:
        return f"{self.applies_to}:{self.incident.id}"

    @property
    def label(self) -> str:
        return f"{self.matrix.title}: {self.incident.title}"

    def suggested_actions(self) -> list[SanctionAction]:
        by_id = {a.id: a for a in self.matrix.actions}
        return [by_id[a] for a in self.incident.actions]


def incident_choices(policy: Policy | None = None) -> list[IncidentChoice]:
    policy = policy or current_policy()
    return [
        IncidentChoice(m.applies_to, incident, m)
        for m in policy.sanctions
        for incident in m.incidents
    ]


def find_incident(key: str, policy: Policy | None = None) -> IncidentChoice | None:
    for choice in incident_choices(policy):
        if choice.key == key:
            return choice
    return None


def matrix_for(applies_to: str, policy: Policy | None = None) -> SanctionMatrix | None:
    policy = policy or current_policy()
    return next((m for m in policy.sanctions if m.applies_to == applies_to), None)


def incident_for_category(applies_to: str, category: str) -> IncidentChoice | None:
    """The incident type whose blocked attempts `category` is evidence of, if the policy says."""
    for choice in incident_choices():
        if choice.applies_to == applies_to and category in choice.incident.categories:
            return choice
    return None
