""" "May I publish this?": which children may appear on a channel, and how a caption may name them.

Given the channel (the policy's `publishing` section), a caption and/or a class list, say for
each pictured or named child whether every consent the channel needs is given (STM-091, STM-240,
SH-063, SH-071, CAV-042, STM-S07, SH-S06), and check the caption against the channel's naming
rule: St Hilary's "first names and first letter of surname" (SH-064: "Amelia Smith" is refused,
"Amelia S." accepted), St Thomas More "cannot be identified by the use of their names" (STM-097,
STM-243: no names at all). A channel that needs a recorded decision (St Thomas More's named press,
STM-241, STM-S08) is never cleared here.

Names are matched as written, with a capital (so "in May" is not the pupil May), on word edges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from schoolgate.app.agreements.consents import states_for
from schoolgate.app.people.models import User
from schoolgate.app.roles import Role
from schoolgate.engine.policy.schema import Policy, PublishingChannel


@dataclass
class ChildResult:
    child: User
    may_appear: bool
    missing: list[str] = field(default_factory=list)
    """Titles of the consents not given."""
    name_as: str = ""
    """How a caption may name the child on this channel ("" where no name may be used)."""


@dataclass
class CaptionProblem:
    found: str
    suggestion: str
    reason: str


@dataclass
class PublishCheck:
    channel: PublishingChannel
    children: list[ChildResult]
    problems: list[CaptionProblem]

    @property
    def refused(self) -> list[ChildResult]:
        return [c for c in self.children if not c.may_appear]

    @property
    def ok(self) -> bool:
        return not self.refused and not self.problems and not self.channel.decision_required


def name_as(child: User, naming: str) -> str:
    first, last = child.first_name.strip(), child.last_name.strip()
    if naming == "full-name":
        return f"{first} {last}"
    if naming == "first-name-initial":
        return f"{first} {last[:1]}." if last else first
    if naming == "first-name":
        return first
    return ""


def _mentions(caption: str, child: User) -> str | None:
    """How `caption` names `child`: "full", "initial", "first", or None."""
    first, last = re.escape(child.first_name.strip()), re.escape(child.last_name.strip())
    if not first:
        return None
    if last and re.search(rf"(?<!\w){first}\s+{last}(?!\w)", caption):
        return "full"
    initial = re.escape(child.last_name.strip()[:1])
    if last and re.search(rf"(?<!\w){first}\s+{initial}\.?(?!\w)", caption):
        return "initial"
    if re.search(rf"(?<!\w){first}(?!\w)", caption):
        return "first"
    return None


_ALLOWED = {
    "full-name": {"full", "initial", "first"},
    "first-name-initial": {"initial", "first"},
    "first-name": {"first"},
    "no-names": set(),
}
_REASONS = {
    "first-name-initial": "only the first name and the first letter of the surname may be used",
    "first-name": "only the first name may be used",
    "no-names": "pupils must not be identifiable by their names",
}


def check(
    policy: Policy,
    channel_id: str,
    caption: str = "",
    class_group: str = "",
) -> PublishCheck:
    channel = next((c for c in policy.publishing if c.id == channel_id), None)
    if channel is None:
        raise KeyError(channel_id)
    pupils = User.objects.filter(role=Role.PUPIL, is_active=True)
    pictured = list(pupils.filter(registration_group__iexact=class_group)) if class_group else []
    candidates = pictured or list(pupils)
    problems: list[CaptionProblem] = []
    named: list[User] = []
    for child in candidates:
        how = _mentions(caption, child) if caption else None
        if how is None:
            continue
        if child not in named:
            named.append(child)
        if how not in _ALLOWED[channel.naming]:
            problems.append(_problem(caption, child, how, channel.naming))
    children = pictured + [c for c in named if c not in pictured]
    return PublishCheck(channel, _results(policy, channel, children), _unique(problems))


def _problem(caption: str, child: User, how: str, naming: str) -> CaptionProblem:
    first, last = child.first_name.strip(), child.last_name.strip()
    found = {"full": f"{first} {last}", "initial": f"{first} {last[:1]}.", "first": first}[how]
    suggestion = name_as(child, naming)
    return CaptionProblem(
        found,
        f"Write “{suggestion}” instead" if suggestion else "Leave the name out",
        _REASONS.get(naming, ""),
    )


def _unique(problems: list[CaptionProblem]) -> list[CaptionProblem]:
    seen: set[tuple[str, str]] = set()
    result = []
    for problem in problems:
        key = (problem.found, problem.suggestion)
        if key not in seen:
            seen.add(key)
            result.append(problem)
    return result


def _results(policy: Policy, channel: PublishingChannel, children: list[User]) -> list[ChildResult]:
    states = states_for(children, policy)
    titles = {c.id: c.title for c in policy.consents}
    results = []
    for child in children:
        missing = [
            titles.get(cid, cid)
            for cid in channel.consents
            if not (cid in states[child.pk] and states[child.pk][cid].given)
        ]
        results.append(ChildResult(child, not missing, missing, name_as(child, channel.naming)))
    return results
