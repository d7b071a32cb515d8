"""Who has a complete, current acceptable-use agreement: the file the staff app publishes.

The staff application keeps signatures in its database and, after every change, publishes one
JSON file (written atomically: readers see the old file or the new one, never a mixture) into
the gateway's state folder. The gateway reads only this file, never the database, so "no signed
agreement, no access" holds the same way in the DNS resolver, the proxy, the pages server and
the Squid helper (STM-228, STM-282, CAV-031, SH-098), and a pupil's own click never stands in
for the parent's countersignature the policy requires (STM-230, STM-S02, SH-098, CAV-029).

Format (version 1)::

    {"format": "schoolgate-agreement-state", "version": 1,
     "published_at": "2026-11-24T10:32:07+00:00",
     "subjects": {"user:amelia.smith": {"pupil-aua": {
         "version": "3f2a9c0b1d4e",            # engine.agreements.agreement_version
         "complete_at": "2026-09-03T18:02:11+00:00",  # the last required signature
         "valid_until": "2027-09-01T00:00:00+01:00"}}}}  # null: until the text changes

An entry exists only once every required signatory has signed that version. `AgreementState`
re-reads the file when its (inode, mtime, size) changes, at most once a second, like the
bindings file and the snapshot (`gateway/reload.py`); a file that does not parse keeps the last
good state in force and is logged with the reason.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from schoolgate.gateway.reload import file_state

log = logging.getLogger(__name__)

AGREEMENT_STATE_FILE = "agreement-state.json"
"""In the gateway state folder: the staff app writes it, every gateway service reads it."""
FORMAT = "schoolgate-agreement-state"
FORMAT_VERSION = 1
_RECHECK_SECONDS = 1.0


class AgreementStateError(ValueError):
    """The published file is malformed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class CompleteAgreement:
    version: str
    complete_at: datetime
    valid_until: datetime | None

    def current(self, now: datetime, version: str | None) -> bool:
        if version is not None and version != self.version:
            return False  # the text changed since: a new signature is needed
        return self.valid_until is None or _aware(now) < self.valid_until


Entries = dict[str, dict[str, CompleteAgreement]]


class AgreementState:
    """Complete agreements by subject key (`user:<name>`, as the gateway files records)."""

    def __init__(self, path: Path | None, entries: Entries | None = None) -> None:
        self.path = path
        self._entries: Entries = entries or {}
        self._file_state: tuple[int, int, int] | None = None
        self._next_check = 0.0
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self.published_at: datetime | None = None

    @classmethod
    def load(cls, path: Path) -> AgreementState:
        """Read `path` now (an absent file means nobody has a complete agreement yet)."""
        state = cls(Path(path))
        state.refresh(force=True)
        return state

    def is_satisfied(
        self, subject: str, agreement_id: str, now: datetime, *, version: str | None = None
    ) -> bool:
        """Whether `subject` has every required signature on `agreement_id`, still current at
        `now` (timezone-aware; a naive time is taken as UTC) and, if `version` is given, on that
        version of the text."""
        self.refresh()
        entry = self._entries.get(subject, {}).get(agreement_id)
        return entry is not None and entry.current(now, version)

    def subjects(self) -> int:
        return len(self._entries)

    def refresh(self, force: bool = False) -> bool:
        """Re-read the file if it changed (checked at most once a second). True if reloaded."""
        if self.path is None or (not force and time.monotonic() < self._next_check):
            return False
        self._next_check = time.monotonic() + _RECHECK_SECONDS
        with self._lock:
            state = file_state(self.path)
            if state == self._file_state and not force:
                return False
            self._file_state = state
            if state is None:
                self._entries, self.published_at = {}, None
                return True
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.published_at, self._entries = parse_state(data, str(self.path))
            except (OSError, ValueError) as exc:  # keep the last good state in force
                self.last_error = str(exc)
                log.error("agreement state not reloaded: %s", exc)
                return False
            self.last_error = None
            return True


def publish_demo_agreements(path: Path, subjects: dict[str, dict[str, Any]]) -> None:
    """`schoolgate demo` only: add complete agreements for the demo devices (each entry marked
    `"demo": true`; the staff app keeps such entries when it republishes)."""
    from schoolgate.files import write_atomically

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        parse_state(data, str(path))
    except (OSError, ValueError):
        data = {"format": FORMAT, "version": FORMAT_VERSION, "subjects": {}}
    for subject, agreements in subjects.items():
        data["subjects"].setdefault(subject, {}).update(agreements)
    data["published_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))


def parse_state(data: Any, where: str) -> tuple[datetime | None, Entries]:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise AgreementStateError(f"{where}: not a {FORMAT} file")
    if data.get("version") != FORMAT_VERSION:
        raise AgreementStateError(f"{where}: version {data.get('version')!r} is not supported")
    subjects = data.get("subjects")
    if not isinstance(subjects, dict):
        raise AgreementStateError(f"{where}: 'subjects' must be an object")
    entries: Entries = {}
    for subject, agreements in subjects.items():
        if not isinstance(agreements, dict):
            raise AgreementStateError(f"{where}: subjects.{subject}: expected an object")
        entries[subject] = {
            agreement_id: _entry(value, f"{where}: subjects.{subject}.{agreement_id}")
            for agreement_id, value in agreements.items()
        }
    published = data.get("published_at")
    return (_time(published, f"{where}: published_at") if published else None), entries


def _entry(value: Any, where: str) -> CompleteAgreement:
    if not isinstance(value, dict) or not isinstance(value.get("version"), str):
        raise AgreementStateError(f"{where}: expected {{'version', 'complete_at', 'valid_until'}}")
    until = value.get("valid_until")
    return CompleteAgreement(
        value["version"],
        _time(value.get("complete_at"), f"{where}.complete_at"),
        _time(until, f"{where}.valid_until") if until is not None else None,
    )


def _time(text: Any, where: str) -> datetime:
    try:
        return _aware(datetime.fromisoformat(str(text)))
    except ValueError:
        raise AgreementStateError(f"{where}: {text!r} is not an ISO 8601 time") from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
