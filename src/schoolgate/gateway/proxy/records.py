"""Small local records the gateway keeps until the staff application takes them over.

- `SignatureStore`: acceptable-use agreement signatures (JSON lines, fsynced on every signature,
  because a signature lets a user through the filter and must survive a crash).
- `WarnPasses`: who clicked through which `warn` page, for how long the pass lasts (JSON lines
  shared with the Squid helper).
- `RequestLog`: "unblock this site" and "report a problem" requests (JSON lines) for the staff
  who handle them (SH-026: the requester takes responsibility for the site's content). The staff
  app's console imports them (each line is known by `line_key`, the hash of its bytes) and
  writes its answers to `ANSWERS_FILE` beside it, which `RequestLog.mine` reads back so the
  requester sees the reply on the gateway's "my requests" page.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from schoolgate.engine.agreements import valid_until

WARN_PASS_SECONDS = 3600.0
REQUESTS_FILE = "requests.jsonl"
ANSWERS_FILE = "request-answers.json"
"""In the gateway state folder: the staff app's console writes it, the pages server reads it."""
SIGNATURES_FILE = "signatures.jsonl"
"""In the gateway state folder: agreement clicks on the pages server; every service reads them."""
WARN_PASSES_FILE = "warn-passes.jsonl"
"""In the gateway state folder: the pages server writes it, the Squid helper reads it."""


def _append_json_line(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    with path.open("a", encoding="utf-8") as file:
        file.write(line)
        file.flush()
        os.fsync(file.fileno())


class SignatureStore:
    """Agreement signatures by subject key (`user:<name>` or `address:<ip>`) and agreement id.

    Other processes holding a store on the same file see new signatures (the lines appended since
    their last look, checked at most once a second): the Squid helper and the DNS resolver honour
    clicks made on the pages server."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._signed: dict[tuple[str, str], datetime] = {}
        self._lock = threading.Lock()
        self._read_to = 0
        self._next_check = 0.0
        self._read_new()

    def _read_new(self) -> None:
        self._next_check = time.monotonic() + 1.0
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size < self._read_to:
            self._read_to = 0  # the file was replaced
        if size == self._read_to:
            return
        with self.path.open("rb") as file:
            file.seek(self._read_to)
            data = file.read(size - self._read_to)
        complete = data[: data.rfind(b"\n") + 1]  # a torn last line was never acknowledged
        self._read_to += len(complete)
        for line in complete.splitlines():
            try:
                record = json.loads(line)
                key = (record["subject"], record["agreement"])
                self._signed[key] = datetime.fromisoformat(record["signed_at"])
            except (ValueError, KeyError, TypeError):
                continue

    def signed_at(self, subject_key: str, agreement: str) -> datetime | None:
        if time.monotonic() >= self._next_check:
            with self._lock:
                self._read_new()
        return self._signed.get((subject_key, agreement))

    def is_current(
        self,
        subject_key: str,
        agreement: str,
        renew: str,
        now: datetime,
        school_year_starts: str = "09-01",
    ) -> bool:
        """Whether a signature exists and has not expired under the agreement's `renew` rule
        (`engine/agreements.py`); `each-logon` here lasts the day: `AgreementCheck` narrows it
        to the logon when the binding says when that was."""
        signed = self.signed_at(subject_key, agreement)
        if signed is None:
            return False
        until = valid_until("daily" if renew == "each-logon" else renew, signed, school_year_starts)
        return until is None or now < until

    def sign(self, subject_key: str, agreement: str, now: datetime, **extra: Any) -> None:
        record = {
            "subject": subject_key,
            "agreement": agreement,
            "signed_at": now.isoformat(timespec="seconds"),
            **extra,
        }
        with self._lock:
            _append_json_line(self.path, record)
            self._signed[(subject_key, agreement)] = now


class WarnPasses:
    """Passes: a click-through lets that subject reach that host for an hour.

    With a `path`, every pass is also appended there (JSON lines with a wall-clock expiry), and
    other processes holding a `WarnPasses` on the same file see it: the Squid helper reads the
    passes the pages server grants, so a warned HTTPS site opens through Squid too.
    """

    def __init__(self, seconds: float = WARN_PASS_SECONDS, path: Path | None = None) -> None:
        self.seconds = seconds
        self.path = path
        self._until: dict[tuple[str, str], float] = {}
        self._read_to = 0
        self._lock = threading.Lock()

    def grant(self, subject_key: str, host: str) -> None:
        until = time.time() + self.seconds
        if self.path is not None:
            with self._lock:
                _append_json_line(self.path, {"subject": subject_key, "host": host, "until": until})
        if len(self._until) > 100_000:
            now = time.time()
            self._until = {k: v for k, v in self._until.items() if v > now}
        self._until[(subject_key, host)] = until

    def has(self, subject_key: str, host: str) -> bool:
        if self.path is not None:
            self._read_new()
        until = self._until.get((subject_key, host))
        return until is not None and until > time.time()

    def _read_new(self) -> None:
        """Take in lines other processes appended since the last look (one stat when none)."""
        try:
            size = self.path.stat().st_size  # type: ignore[union-attr]
        except FileNotFoundError:
            return
        if size < self._read_to:
            self._read_to = 0  # the file was replaced
        if size == self._read_to:
            return
        with self.path.open("rb") as file:  # type: ignore[union-attr]
            file.seek(self._read_to)
            data = file.read(size - self._read_to)
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self._read_to += len(complete)
        for line in complete.splitlines():
            try:
                record = json.loads(line)
                key = (record["subject"], record["host"])
                self._until[key] = max(self._until.get(key, 0.0), float(record["until"]))
            except (ValueError, KeyError, TypeError):
                continue


class RequestLog:
    """Unblock requests and problem reports, one JSON object per line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            _append_json_line(self.path, record)

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines()]

    def mine(self, subject_key: str, limit: int = 20) -> list[dict[str, Any]]:
        """The newest requests filed under `subject_key`, each with the staff's `answer`."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        answers = _read_answers(self.path.parent / ANSWERS_FILE)
        found = []
        for line in data.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("subject") == subject_key:
                answer = answers.get(line_key(line))
                found.append(record | {"answer": answer if isinstance(answer, dict) else None})
        return found[-limit:][::-1]


def line_key(line: bytes) -> str:
    """How a request line is known on both sides: the SHA-256 of its bytes (no newline)."""
    return hashlib.sha256(line.rstrip(b"\r\n")).hexdigest()[:40]


def _read_answers(path: Path) -> dict[str, Any]:
    try:
        answers = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return answers if isinstance(answers, dict) else {}
