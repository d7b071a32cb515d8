"""The compiled snapshot: a school's policy and all its category lists in one file.

The gateway loads a snapshot instead of parsing YAML and list files at start-up, and answers
lookups straight from the loaded dictionaries without rebuilding anything.

File layout::

    MAGIC (8 bytes) | header: format version, marshal version, payload length (struct `>HHQ`)
    | SHA-256 of the payload (32 bytes) | payload

The payload is a `marshal`-ed dict of plain values (the fastest thing Python loads); the policy
is kept as its JSON and validated again on load. The digest is checked before the payload is
unmarshalled, so a truncated or corrupt file is refused whole, never half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from schoolgate.engine.lists.importers import import_list_dir
from schoolgate.engine.lists.index import CategoryIndex
from schoolgate.engine.policy.schema import Policy
from schoolgate.files import write_atomically

MAGIC = b"SGSNAP\r\n"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">HHQ")
_DIGEST_SIZE = 32
_PREFIX_SIZE = len(MAGIC) + _HEADER.size + _DIGEST_SIZE


class SnapshotError(ValueError):
    """The snapshot file cannot be used; nothing from it was loaded."""

    def __init__(self, path: Path | str, message: str):
        self.path = str(path)
        super().__init__(f"{path}: {message}")


@dataclass(slots=True)
class Snapshot:
    policy: Policy
    index: CategoryIndex
    policy_sha256: str
    built_at: str
    """UTC time of compilation, ISO 8601."""
    sources: list[dict[str, Any]] = field(default_factory=list)
    """One entry per list directory: its path and the import report summary."""

    def save(self, path: Path | str) -> None:
        """Write atomically: a reader sees the old snapshot or the new one, never a mixture."""
        path = Path(path)
        payload = marshal.dumps(self._payload())
        header = MAGIC + _HEADER.pack(FORMAT_VERSION, marshal.version, len(payload))
        digest = hashlib.sha256(payload).digest()
        write_atomically(path, header + digest + payload)

    def _payload(self) -> dict[str, Any]:
        index = self.index
        return {
            "policy": policy_json(self.policy),
            "policy_sha256": self.policy_sha256,
            "built_at": self.built_at,
            "sources": json.dumps(self.sources),
            "categories": list(index.categories),
            "domains": index.domains,
            "urls": index.urls,
            "expressions": index.expressions,
            "hashed": index.hashed,
            "host_classifier": index.likely is not None,
        }


def policy_json(policy: Policy) -> str:
    return json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def policy_sha256(policy: Policy) -> str:
    return hashlib.sha256(policy_json(policy).encode("utf-8")).hexdigest()


def with_policy(snapshot: Snapshot, policy: Policy) -> Snapshot:
    """The same lists under a changed policy: an approved filter change needs no re-import of
    the lists, only a new snapshot for the gateway to hot-reload. Refused if the category map
    differs, since the index was built through it."""
    if policy.filtering.category_map != snapshot.policy.filtering.category_map:
        raise SnapshotError("<snapshot>", "the category map changed: compile the lists again")
    return Snapshot(
        policy=policy,
        index=snapshot.index,
        policy_sha256=policy_sha256(policy),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sources=snapshot.sources,
    )


def compile_snapshot(
    policy: Policy, list_dirs: list[Path], data_root: Path | None = None
) -> Snapshot:
    """Import every list source (UT1 tree, folder with `lists.yaml`, or a manifest file such as
    `lists/default.yaml`) under the policy's map. `data_root` replaces the `root:` of manifests
    that declare one.

    Hosts on no list get the `likely-*` guesses of the host-name classifier; the policy decides
    whether a guess is warned, blocked or ignored.

    Raises `ListFormatError` if any list is unusable: a snapshot is built whole or not at all.
    """
    index = CategoryIndex()
    sources = []
    for list_dir in list_dirs:
        report = import_list_dir(
            Path(list_dir), index, policy.filtering.category_map, data_root=data_root
        )
        sources.append({"path": str(list_dir), **report.summary()})
    index.enable_host_classifier()
    return Snapshot(
        policy=policy,
        index=index,
        policy_sha256=policy_sha256(policy),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        sources=sources,
    )


def load_snapshot(path: Path | str) -> Snapshot:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(path, f"cannot read snapshot: {exc.strerror or exc}") from None
    payload = _checked_payload(path, data)
    try:
        values = marshal.loads(payload)
        policy = Policy.model_validate_json(values["policy"])
        index = CategoryIndex(
            categories=values["categories"],
            domains=values["domains"],
            urls=values["urls"],
            expressions=values["expressions"],
            hashed=values["hashed"],
        )
        if values.get("host_classifier"):
            index.enable_host_classifier()
        return Snapshot(
            policy=policy,
            index=index,
            policy_sha256=values["policy_sha256"],
            built_at=values["built_at"],
            sources=json.loads(values["sources"]),
        )
    except ValidationError as exc:
        raise SnapshotError(path, f"policy in snapshot is not valid: {exc}") from None
    except (ValueError, EOFError, TypeError, KeyError) as exc:
        raise SnapshotError(path, f"snapshot payload is damaged: {exc!r}") from None


def _checked_payload(path: Path, data: bytes) -> bytes:
    if len(data) < _PREFIX_SIZE or not data.startswith(MAGIC):
        raise SnapshotError(path, "not a Schoolgate snapshot (bad magic or too short)")
    version, marshal_version, length = _HEADER.unpack_from(data, len(MAGIC))
    if version != FORMAT_VERSION:
        raise SnapshotError(path, f"snapshot format {version}, expected {FORMAT_VERSION}: rebuild")
    if marshal_version != marshal.version:
        raise SnapshotError(path, "snapshot written by another Python version: rebuild it")
    digest = data[_PREFIX_SIZE - _DIGEST_SIZE : _PREFIX_SIZE]
    payload = data[_PREFIX_SIZE:]
    if len(payload) != length:
        raise SnapshotError(
            path, f"truncated: payload is {len(payload)} bytes, header says {length}"
        )
    if hashlib.sha256(payload).digest() != digest:
        raise SnapshotError(path, "checksum mismatch: the file is corrupt")
    return payload
