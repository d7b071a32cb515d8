"""The school's policy file, loaded once and reloaded when it changes.

Incident types, sanctions, referrals and contacts are read from here and never copied into
the database; cases store only the ids.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from django.conf import settings

from schoolgate.engine.policy.concerns import concern_categories as merged_concern_categories
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.policy.schema import (
    ConcernCategory,
    IncidentType,
    Policy,
    SanctionAction,
    SanctionMatrix,
)


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


@dataclass(frozen=True)
class _Loaded:
    """A policy as loaded from its file, with the incident choices worked out once."""

    mtime: float
    policy: Policy
    choices: tuple[IncidentChoice, ...]
    by_key: Mapping[str, IncidentChoice]


_cache: dict[Path, _Loaded] = {}


def _loaded() -> _Loaded:
    path = Path(settings.SCHOOLGATE_POLICY)
    mtime = path.stat().st_mtime
    cached = _cache.get(path)
    if cached is None or cached.mtime != mtime:
        policy = load_policy(path)
        choices = tuple(
            IncidentChoice(m.applies_to, incident, m)
            for m in policy.sanctions
            for incident in m.incidents
        )
        by_key: dict[str, IncidentChoice] = {}
        for choice in choices:
            by_key.setdefault(choice.key, choice)
        cached = _cache[path] = _Loaded(mtime, policy, choices, MappingProxyType(by_key))
    return cached


def current_policy() -> Policy:
    return _loaded().policy


def incident_choices() -> list[IncidentChoice]:
    return list(_loaded().choices)


def incidents_by_key() -> Mapping[str, IncidentChoice]:
    """Every incident choice by its key; for a loop over many cases, fetched once before it."""
    return _loaded().by_key


def find_incident(key: str) -> IncidentChoice | None:
    return incidents_by_key().get(key)


def matrix_for(applies_to: str) -> SanctionMatrix | None:
    return next((m for m in current_policy().sanctions if m.applies_to == applies_to), None)


def incident_for_category(applies_to: str, category: str) -> IncidentChoice | None:
    """The incident type whose blocked attempts `category` is evidence of, if the policy says."""
    for choice in _loaded().choices:
        if choice.applies_to == applies_to and category in choice.incident.categories:
            return choice
    return None


def concern_categories() -> list[tuple[ConcernCategory, bool]]:
    """The policy's safeguarding concern categories, then the defaults it is silent on (True)."""
    return merged_concern_categories(current_policy().concerns)


def find_concern_category(category_id: str) -> ConcernCategory | None:
    return next((c for c, _ in concern_categories() if c.id == category_id), None)


def concern_category_for_theme(theme: str) -> ConcernCategory | None:
    """The first concern category an alert of this theme suggests (policy order)."""
    return next((c for c, _ in concern_categories() if theme in c.themes), None)
