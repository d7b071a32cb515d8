"""Publishing the console's devices to the gateway's bindings file (STM-081).

The running DNS resolver and proxy re-read the bindings file within a second of it changing
(`schoolgate.gateway.identity.Identity`), so an edited device takes effect without a restart.
The file is shared with log-on hooks (the bindings endpoint), so publishing replaces only the
entries the console wrote last time — their keys are kept in `<bindings file>.console` — and
keeps everyone else's. The new file is written whole and renamed into place
(`files.write_atomically`), under an exclusive lock so two app workers cannot interleave.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from schoolgate.files import write_atomically
from schoolgate.gateway.identity import Binding, BindingError, parse_bindings


def canonical_address(text: str) -> str:
    """The address or range as the gateway will key it; BindingError says what is wrong."""
    [key] = parse_bindings({text.strip(): {"group": "x"}}, "address")
    return key


def bindings_for(devices: Iterable[object]) -> dict[str, dict[str, str]]:
    return {
        d.address: Binding(d.user or None, d.group).to_json()  # type: ignore[attr-defined]
        for d in devices
    }


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def publish(path: Path, devices: Iterable[object]) -> int:
    """Write the devices into the bindings file at `path`; returns how many entries it holds."""
    ours = bindings_for(devices)
    owned = path.with_name(path.name + ".console")
    with _locked(path):
        current = _read_json(path)
        previous = set(_read_json(owned) or [])
        kept = {k: v for k, v in (current or {}).items() if k not in previous and k not in ours}
        merged = dict(sorted((kept | ours).items()))
        parse_bindings(merged, str(path))  # never publish what the gateway would refuse
        write_atomically(path, json.dumps(merged, indent=1).encode("utf-8"))
        write_atomically(owned, json.dumps(sorted(ours)).encode("utf-8"))
    return len(merged)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise BindingError(f"{path}: not valid JSON ({exc}); fix or remove it first") from None
