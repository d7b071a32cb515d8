"""How old each list source of a manifest is, so a stale list is noticed (STM-076, STM-031, HG-020).

A source's age is the time since `schoolgate lists update` last fetched it (recorded in the data
root's `FETCH_RECORD`), or else since its file was last modified. A source older than the
manifest's `stale_after_days` is stale; `check`, `serve` and `lists update` print a warning for it.
The current time is passed in: the engine never reads the clock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from schoolgate.engine.lists.manifest import Manifest

FETCH_RECORD = ".schoolgate-fetched.json"
"""In a data root: `{relative file: {"fetched_at": ISO time, "sha256": hex, "url": ...}}`."""


@dataclass(frozen=True, slots=True)
class SourceAge:
    source: str
    file: str
    age_days: float
    fetched: bool
    """True when the age comes from a recorded fetch, False when from the file's mtime."""


def read_fetch_record(root: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads((root / FETCH_RECORD).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def source_ages(manifest: Manifest, now: datetime) -> list[SourceAge]:
    record = read_fetch_record(manifest.root)
    ages: list[SourceAge] = []
    for entry in manifest.entries:
        fetched_at = _fetched_at(record.get(entry.relative))
        if fetched_at is not None:
            ages.append(SourceAge(entry.source, entry.relative, _days(now, fetched_at), True))
            continue
        files = entry.files or (entry.file,)
        try:
            newest = max(f.stat().st_mtime for f in files)
        except (OSError, ValueError):
            continue
        modified = datetime.fromtimestamp(newest, UTC)
        ages.append(SourceAge(entry.source, entry.relative, _days(now, modified), False))
    return ages


def stale_sources(manifest: Manifest, now: datetime) -> list[SourceAge]:
    return [a for a in source_ages(manifest, now) if a.age_days > manifest.stale_after_days]


def staleness_warning(manifest: Manifest, age: SourceAge) -> str:
    how = "fetched" if age.fetched else "modified"
    return (
        f"warning: list source {age.source} ({age.file}) was last {how} {age.age_days:.0f} days "
        f"ago (stale after {manifest.stale_after_days}); run `schoolgate lists update "
        f"{manifest.path}`"
    )


def _fetched_at(item: object) -> datetime | None:
    if not isinstance(item, dict):
        return None
    try:
        when = datetime.fromisoformat(str(item.get("fetched_at")))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _days(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds() / 86400)
