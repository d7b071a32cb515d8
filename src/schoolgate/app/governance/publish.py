"""Publishing approved changes: the changes file beside the policy, then the gateway snapshot.

The staff app never edits the policy file. It writes every approved change to
`<policy>.changes.yaml` (engine/policy/changes.py), checked by the same loader the gateway uses
before it replaces the old file (a change that would not load is refused and nothing is lost),
and then re-publishes the gateway's snapshot with the same lists under the changed policy, which
the DNS resolver, proxy and Squid helper hot-reload within a second or two.

The same file carries the approved monitoring false-positive exclusions (the DSL inbox's
`ExclusionProposal`, proposed by one person and approved by another, issue 13): they change what
the gateway alerts on, never what it blocks (engine `AlertExclusion`).
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from django.conf import settings

from schoolgate.app.concerns.models import ExclusionProposal, ProposalStatus
from schoolgate.app.governance.models import FilterChange, _local, _person
from schoolgate.engine.policy.changes import changes_path
from schoolgate.engine.policy.loader import load_policy, parse_changes, parse_policy
from schoolgate.engine.policy.schema import AlertExclusion
from schoolgate.engine.snapshot import load_snapshot, with_policy
from schoolgate.files import write_atomically

HEADER = (
    "# Approved filter changes, written by the Schoolgate staff app. Do not edit by hand:\n"
    "# propose a change in the app, and a second person approves it (STM-315).\n"
)


def publish() -> Path:
    """Write every approved change and refresh the gateway's snapshot; returns the file."""
    policy_path = Path(settings.SCHOOLGATE_POLICY)
    base = parse_policy(policy_path.read_text(encoding="utf-8"), str(policy_path))
    zone = ZoneInfo(base.school.timezone)
    approved = FilterChange.objects.filter(status=FilterChange.Status.APPROVED).order_by("id")
    entries = [c.as_approved_change(zone).model_dump(mode="json") for c in approved]
    exclusions = [e.model_dump(mode="json") for e in approved_exclusions(zone)]
    document = {"schema_version": 1, "changes": entries}
    if exclusions:
        document["exclusions"] = exclusions
    text = HEADER + yaml.safe_dump(document, sort_keys=False, allow_unicode=True)
    target = changes_path(policy_path)
    parse_changes(text, base, str(target))  # raises PolicyError before anything is replaced
    write_atomically(target, text.encode("utf-8"))
    _refresh_snapshot(policy_path)
    return target


def exclusion_reason(proposal: ExclusionProposal) -> str:
    """What the changes file and the change-control log say about why: never the DSL's own
    reason, which may name a pupil (the inbox is for safeguarding leads only, issue 13)."""
    return f"Monitoring false positive agreed by two safeguarding leads (inbox {proposal.pk})"


def approved_exclusions(zone: ZoneInfo) -> list[AlertExclusion]:
    """Every false-positive exclusion a second person approved, oldest first."""
    approved = ExclusionProposal.objects.filter(status=ProposalStatus.APPROVED).order_by("id")
    return [
        AlertExclusion(
            id=p.pk,
            kind=p.kind,
            value=p.value,
            reason=exclusion_reason(p),
            proposed_by=_person(p.proposed_by),
            approved_by=_person(p.decided_by),
            approved_at=_local(p.decided_at, zone),
        )
        for p in approved.select_related("proposed_by", "decided_by")
    ]


def _refresh_snapshot(policy_path: Path) -> None:
    snapshot_path = Path(settings.SCHOOLGATE_SNAPSHOT)
    if not snapshot_path.exists():
        return  # no gateway on this machine: the next `policy compile` includes the changes
    snapshot = with_policy(load_snapshot(snapshot_path), load_policy(policy_path))
    snapshot.save(snapshot_path)
