"""Approved filter changes: the file beside a policy that compiles with it.

Every change to what is filtered is proposed by one person and approved by another (STM-315:
"reported to a second responsible person"; STM-314: "records / logs of changes"). The staff app
writes each approved change to `<policy>.changes.yaml` beside the policy file; the policy file
itself stays as the school adopted it, and `load_policy` reads both, so the gateway, `check`,
the staff app and the printed policy all see one effective policy. The printed policy lists the
changes in an appendix.

    schema_version: 1
    changes:
      - id: 12                      # the proposal's number in the staff app
        action: allow               # allow | warn | block
        groups: [pupil-ks2]
        sites: [example.org]        # host names (and subdomains) or URL prefixes; "*" = every site
        users: []                   # only these users (an exemption); empty = the whole group
        until: 2026-12-04T15:00     # school local time; expires by itself (STM-320 switch-off)
        reason: Needed for the Year 5 Tudors topic
        proposed_by: A Teacher (ateacher)
        approved_by: B Head (bhead)
        approved_at: 2026-12-03T17:20

The same file carries `exclusions:`, monitoring false positives a second person agreed to stop
alerting on (issue 13; `AlertExclusion`): `{id, kind: site|term, value, reason, proposed_by,
approved_by, approved_at}`. They change what is alerted, never what is blocked.

An approved change becomes a site list that comes before the policy's own lists (the most
recent approval first), so it wins over them; it never wins over illegal content or the help
services, which the decider checks first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from schoolgate.engine.policy.schema import (
    ALL_GROUPS,
    AlertExclusion,
    ApprovedChange,
    Policy,
    SiteList,
    Source,
    Strict,
)

CHANGES_SUFFIX = ".changes.yaml"
SECTION = "Approved filter changes"


def as_site_list(change: ApprovedChange) -> SiteList:
    who = f" for {', '.join(change.users)}" if change.users else ""
    until = f" until {change.until:%d %b %Y %H:%M}" if change.until else ""
    return SiteList(
        id=f"change-{change.id}",
        title=f"Approved change {change.id}{who}{until}",
        groups=change.groups,
        action=change.action,
        sites=change.sites,
        users=change.users,
        until=change.until,
        source=Source(
            section=SECTION,
            quote=f"{change.reason} (proposed by {change.proposed_by}, approved by "
            f"{change.approved_by} on {change.approved_at:%d %b %Y})"[:400],
        ),
    )


class ChangeFile(Strict):
    schema_version: Literal[1] = 1
    changes: list[ApprovedChange] = Field(default_factory=list)
    exclusions: list[AlertExclusion] = Field(default_factory=list)


def changes_path(policy_path: Path) -> Path:
    """`policies/st-thomas-more.yaml` -> `policies/st-thomas-more.changes.yaml`."""
    return policy_path.with_name(policy_path.name.removesuffix(".yaml") + CHANGES_SUFFIX)


def apply_changes(
    policy: Policy, changes: list[ApprovedChange], exclusions: list[AlertExclusion] = ()
) -> Policy:
    """The effective policy: the approved changes as site lists ahead of the policy's own, and
    the approved alert exclusions."""
    newest_first = sorted(changes, key=lambda c: (c.approved_at, c.id), reverse=True)
    sites = [as_site_list(c) for c in newest_first] + list(policy.sites)
    return policy.model_copy(
        update={
            "sites": sites,
            "approved_changes": newest_first,
            "alert_exclusions": list(exclusions),
        }
    )


def cross_reference_problems(policy: Policy, changes: ChangeFile) -> list[tuple[tuple, str]]:
    groups = {g.id for g in policy.groups} | {ALL_GROUPS}
    problems = []
    seen: set[int] = set()
    for i, change in enumerate(changes.changes):
        if change.id in seen:
            problems.append((("changes", i, "id"), f"change {change.id} appears twice"))
        seen.add(change.id)
        for j, group in enumerate(change.groups):
            if group not in groups:
                problems.append((("changes", i, "groups", j), f"unknown group {group!r}"))
    excluded: set[int] = set()
    for i, exclusion in enumerate(changes.exclusions):
        if exclusion.id in excluded:
            problems.append((("exclusions", i, "id"), f"exclusion {exclusion.id} appears twice"))
        excluded.add(exclusion.id)
    return problems
