"""The running gateway as the console sees it: the same compiled snapshot, and its health.

`current_decider()` loads the snapshot the gateway itself loads (`SCHOOLGATE_SNAPSHOT`,
`var/snapshot.sgs`, written by `schoolgate serve` and `schoolgate policy compile`) and builds the
same `Decider`, reloading it when the file changes — so "why is this blocked?" answers exactly
as the gateway does. Without a snapshot file (a bare app install) it compiles the policy file
with no category lists and says so.

`health()` reports what a network manager checks first (STM-318): how old the snapshot is, its
lists (name, domains, age), and whether each service the gateway announced in
`<gateway state>/services.json` accepts a TCP connection.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from schoolgate.engine.decide import Decider
from schoolgate.engine.policy.loader import load_policy
from schoolgate.engine.snapshot import compile_snapshot, load_snapshot
from schoolgate.gateway.reload import file_state
from schoolgate.gateway.site import parse_host_port

SERVICES_FILE = "services.json"

_lock = threading.Lock()
_cache: dict[str, Any] = {}


@dataclass(frozen=True)
class LoadedSnapshot:
    decider: Decider
    path: Path | None
    """None when compiled from the policy file without lists (no snapshot file found)."""
    loaded_at: float


def current_decider() -> LoadedSnapshot:
    path = Path(settings.SCHOOLGATE_SNAPSHOT)
    state = file_state(path)
    key = ("snapshot", str(path), state) if state else ("policy", str(settings.SCHOOLGATE_POLICY))
    with _lock:
        cached = _cache.get("loaded")
        if cached is not None and _cache.get("key") == key:
            return cached
        if state is not None:
            loaded = LoadedSnapshot(Decider(load_snapshot(path)), path, time.time())
        else:
            policy = load_policy(Path(settings.SCHOOLGATE_POLICY))
            loaded = LoadedSnapshot(Decider(compile_snapshot(policy, [])), None, time.time())
        _cache.update(loaded=loaded, key=key)
        return loaded


@dataclass
class ServiceState:
    name: str
    address: str
    up: bool


@dataclass
class Health:
    snapshot_path: Path | None
    snapshot_age: float | None
    built_at: str | None
    lists: list[dict[str, Any]] = field(default_factory=list)
    services: list[ServiceState] = field(default_factory=list)

    @property
    def snapshot_age_text(self) -> str:
        return age_text(self.snapshot_age or 0.0)


def age_text(seconds: float) -> str:
    """`42 seconds`, `5 minutes`, `3 hours`, `2 days`: how a person reads an age."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{int(seconds)} second{'s' if int(seconds) != 1 else ''}"


def health() -> Health:
    loaded = current_decider()
    snapshot = loaded.decider.snapshot
    age = None
    if loaded.path is not None:
        age = max(0.0, time.time() - loaded.path.stat().st_mtime)
    return Health(
        snapshot_path=loaded.path,
        snapshot_age=age,
        built_at=str(getattr(snapshot, "built_at", "") or "") or None,
        lists=_lists(snapshot),
        services=_services(Path(settings.SCHOOLGATE_GATEWAY_STATE) / SERVICES_FILE),
    )


def _lists(snapshot: Any) -> list[dict[str, Any]]:
    rows = []
    for source in getattr(snapshot, "sources", None) or []:
        if not isinstance(source, dict):
            continue
        name = str(source.get("path") or source.get("name") or "list")
        rows.append(
            {
                "name": name,
                "domains": source.get("added"),
                "categories": len(source.get("categories") or []),
                "age_days": _age_days(_modified(name)),
            }
        )
    return rows


def _modified(name: str) -> float | None:
    """When the list folder (or file) was last changed, if it is readable from here."""
    try:
        return Path(name).stat().st_mtime
    except OSError:
        return None


def _age_days(modified: Any) -> float | None:
    if isinstance(modified, int | float):
        return max(0.0, (time.time() - modified) / 86400)
    if isinstance(modified, str):
        try:
            moment = datetime.fromisoformat(modified.replace("Z", "+00:00"))
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (datetime.now(UTC) - moment).total_seconds() / 86400)
    return None


def _services(path: Path) -> list[ServiceState]:
    try:
        announced = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(announced, dict):
        return []
    return [ServiceState(str(n), str(a), _accepts(str(a))) for n, a in sorted(announced.items())]


def _accepts(address: str) -> bool:
    try:
        host, port = parse_host_port(address.split("://", 1)[-1].rstrip("/"), 80)
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except (OSError, ValueError):
        return False
