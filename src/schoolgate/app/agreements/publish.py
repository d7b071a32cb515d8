"""Publishing complete agreements to the gateway: one JSON file, written atomically.

The gateway never reads the database (DESIGN.md); after every signature the app rewrites
`agreement-state.json` in the gateway's state folder (`settings.SCHOOLGATE_AGREEMENT_STATE`) with
everyone whose agreement is complete on the current version of its text, and when it stops
counting (`valid_until`, from the renewal rule). The gateway reloads it within a second
(`gateway/agreement_state.py`), so the pupil's next request after a parent's countersignature
goes through (STM-228, STM-230, SH-098, CAV-029), and nobody's access outlives the school year
their signatures belong to, even if the app is not running then.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction

from schoolgate.app.agreements.status import statuses
from schoolgate.app.people.models import User
from schoolgate.app.policy import current_policy
from schoolgate.files import write_atomically
from schoolgate.gateway.agreement_state import FORMAT, FORMAT_VERSION

log = logging.getLogger(__name__)


def state_path() -> Path:
    return Path(settings.SCHOOLGATE_AGREEMENT_STATE)


def build_state(now: datetime) -> dict:
    policy = current_policy()
    starts = policy.school.school_year_starts
    users = list(User.objects.filter(is_active=True))
    subjects: dict[str, dict] = {}
    for status in statuses(users, policy, now):
        if not status.complete:
            continue
        until = status.valid_until(starts)
        if until is not None and until <= now:
            continue
        subjects.setdefault(f"user:{status.user.username}", {})[status.agreement.id] = {
            "version": status.version,
            "complete_at": status.complete_at.isoformat(timespec="seconds"),
            "valid_until": until.isoformat(timespec="seconds") if until else None,
        }
    for subject, agreements in _demo_entries().items():
        subjects.setdefault(subject, {}).update(agreements)
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "published_at": now.isoformat(timespec="seconds"),
        "school": policy.school.id,
        "subjects": subjects,
    }


def _demo_entries() -> dict[str, dict]:
    """Entries `schoolgate demo` wrote for its demo devices (marked `demo`), kept as they are."""
    try:
        data = json.loads(state_path().read_text(encoding="utf-8"))
        return {
            subject: kept
            for subject, agreements in data.get("subjects", {}).items()
            if (kept := {k: v for k, v in agreements.items() if v.get("demo") is True})
        }
    except (OSError, ValueError, AttributeError):
        return {}


def publish_now(now: datetime | None = None) -> int:
    """Write the state file; returns how many people have a complete agreement."""
    state = build_state(now or datetime.now(UTC))
    path = state_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
    return len(state["subjects"])


def publish_after_commit() -> None:
    """Publish once the current transaction commits (so the file never shows a rolled-back
    signature); a failure is logged, never lost silently, and the next publish repairs it."""

    def publish() -> None:
        try:
            publish_now()
        except OSError as exc:
            log.error("agreement state not published to %s: %s", state_path(), exc)

    transaction.on_commit(publish)
