"""A crash-safe, append-only journal of gateway decisions, in size-rotated segment files.

Each record on disk is a 10-byte header then a compact JSON payload:

    b"SG" | payload length (uint32, big-endian) | CRC32 of payload (uint32, big-endian) | payload

A writer always starts a fresh segment, so a record torn by a crash stays at the tail of the
segment it was being written to. The reader checks every length and CRC; a torn or corrupt
record is reported (`JournalReader.problems`) and skipped, and reading resumes at the next
valid header (the `SG` magic plus a matching CRC), so one bad record costs only itself.

Durability contract: `JournalWriter.append()` only puts the event in an in-memory buffer and
returns at once; it never touches the disk, so it is safe on a request path (asyncio or threads).
A background thread writes the buffer out and fsyncs it every `flush_interval` seconds (or as soon
as `batch_size` events are waiting). An event is *acknowledged* once it has been written and
fsynced: `acknowledged` counts them, `flush()` blocks until everything appended so far is
acknowledged. After a `kill -9`, every acknowledged event reads back; events appended but not yet
acknowledged may be lost. If the disk cannot keep up and more than `max_pending` events wait,
new events are dropped and counted (`dropped`), and a `journal-dropped` event records how many,
so the request path never waits on the disk.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schoolgate.events.schema import Event, epoch_to_time

log = logging.getLogger(__name__)

MAGIC = b"SG"
HEADER = struct.Struct(">2sII")
MAX_RECORD = 16 * 1024 * 1024
SEGMENT_SUFFIX = ".jnl"
SEGMENT_BYTES = 64 * 1024 * 1024


class JournalError(RuntimeError):
    """The journal cannot be written (closed, or the directory is unusable)."""


def encode_record(event: dict[str, Any]) -> bytes:
    payload = json.dumps(event, separators=(",", ":"), ensure_ascii=False, default=str).encode()
    if len(payload) > MAX_RECORD:
        raise JournalError(f"event of {len(payload)} bytes exceeds the {MAX_RECORD}-byte limit")
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def _journal_event(kind: str, extra: dict[str, Any]) -> dict[str, Any]:
    """What the journal itself records about events it could not keep (`source="journal"`)."""
    return Event(
        at=epoch_to_time(time.time()), source="journal", kind=kind, extra=extra
    ).to_record()


def segment_paths(directory: Path) -> list[Path]:
    """Segments in write order (their names are zero-padded sequence numbers)."""
    return sorted(p for p in Path(directory).glob("*" + SEGMENT_SUFFIX) if p.is_file())


def _segment_number(path: Path) -> int:
    try:
        return int(path.stem)
    except ValueError:
        return -1


class JournalWriter:
    """Buffers events in memory and makes them durable from a background thread."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        flush_interval: float = 0.05,
        batch_size: int = 1000,
        max_pending: int = 200_000,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.fsync = fsync
        self.appended = 0
        self.acknowledged = 0
        self.dropped = 0
        self._pending: list[dict[str, Any]] = []
        self._unreported_drops = 0
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._durable = threading.Condition(self._lock)
        self._closing = False
        self._failure: BaseException | None = None
        self._file = None
        self._file_size = 0
        self._open_new_segment()
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    # The request path -------------------------------------------------------------------------

    def append(self, event: dict[str, Any]) -> bool:
        """Queue an event; returns False (and counts it) if it had to be dropped."""
        with self._lock:
            if self._closing:
                raise JournalError(f"journal {self.directory} is closed")
            if len(self._pending) >= self.max_pending:
                self.dropped += 1
                self._unreported_drops += 1
                return False
            self._pending.append(event)
            self.appended += 1
            if len(self._pending) >= self.batch_size:
                self._wake.notify()
        return True

    # Waiting for durability (not for the request path) --------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every event appended so far is acknowledged; False on timeout."""
        with self._lock:
            target = self.appended
            self._wake.notify()
            done = self._durable.wait_for(
                lambda: self.acknowledged >= target or self._failure is not None, timeout
            )
            if self._failure is not None:
                raise JournalError(f"journal {self.directory} failed") from self._failure
            return done

    def close(self, timeout: float | None = 10.0) -> None:
        with self._lock:
            if self._closing:
                return
            self._closing = True
            self._wake.notify()
        self._thread.join(timeout)
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The background thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._pending and not self._closing:
                    self._wake.wait(self.flush_interval)
                batch, self._pending = self._pending, []
                drops, self._unreported_drops = self._unreported_drops, 0
                closing = self._closing
            if drops:
                batch.append(_journal_event("journal-dropped", {"count": drops}))
            if batch:
                self._write_batch(batch, counted=len(batch) - (1 if drops else 0))
            if closing and not batch:
                return

    def _write_batch(self, batch: list[dict[str, Any]], counted: int) -> None:
        try:
            chunk: list[bytes] = []
            for event in batch:
                record = self._encode(event)
                chunk.append(record)
                self._file_size += len(record)
                if self._file_size >= self.segment_bytes:
                    self._write_durably(b"".join(chunk))
                    chunk = []
                    self._file.close()
                    self._open_new_segment()
            if chunk:
                self._write_durably(b"".join(chunk))
        except BaseException as exc:
            log.exception("journal %s: write failed", self.directory)
            with self._lock:
                self._failure = exc
                self._durable.notify_all()
            raise
        with self._lock:
            self.acknowledged += counted
            self._durable.notify_all()

    def _write_durably(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # unbuffered writes may be partial
            view = view[self._file.write(view) :]
        if self.fsync:
            os.fsync(self._file.fileno())

    @staticmethod
    def _encode(event: dict[str, Any]) -> bytes:
        try:
            return encode_record(event)
        except (TypeError, ValueError, JournalError) as exc:
            log.error("journal: unencodable event skipped: %s", exc)
            return encode_record(_journal_event("journal-unencodable", {"error": str(exc)[:500]}))

    def _open_new_segment(self) -> None:
        existing = [_segment_number(p) for p in segment_paths(self.directory)]
        number = max(existing, default=0) + 1
        while True:
            path = self.directory / f"{number:010d}{SEGMENT_SUFFIX}"
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
                break
            except FileExistsError:  # another writer took this number
                number += 1
        self._file = os.fdopen(fd, "ab", buffering=0)
        self._file_size = 0
        self.segment = path
        self._sync_directory()

    def _sync_directory(self) -> None:
        if not self.fsync:
            return
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@dataclass(frozen=True, slots=True)
class JournalProblem:
    segment: Path
    offset: int
    reason: str

    def __str__(self) -> str:
        return f"{self.segment}: byte {self.offset}: {self.reason}"


@dataclass
class JournalReader:
    """Iterates every intact event across all segments, noting what it had to skip."""

    directory: Path
    problems: list[JournalProblem] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for path in segment_paths(self.directory):
            yield from self._read_segment(path)

    def _read_segment(self, path: Path) -> Iterator[dict[str, Any]]:
        data = path.read_bytes()
        offset, end = 0, len(data)
        while offset < end:
            event, next_offset, reason = _decode_at(data, offset)
            if event is not None:
                yield event
                offset = next_offset
                continue
            resync = _next_valid_record(data, offset + 1)
            if resync is None:
                tail = "torn tail record" if reason == "truncated" else reason
                self._report(path, offset, f"{tail}; {end - offset} bytes skipped")
                return
            self._report(path, offset, f"{reason}; {resync - offset} bytes skipped")
            offset = resync

    def _report(self, path: Path, offset: int, reason: str) -> None:
        problem = JournalProblem(path, offset, reason)
        self.problems.append(problem)
        log.warning("journal: %s", problem)


def _decode_at(data: bytes, offset: int) -> tuple[dict[str, Any] | None, int, str]:
    """The record at `offset`, the offset after it, or None and why it is unreadable."""
    if len(data) - offset < HEADER.size:
        return None, offset, "truncated"
    magic, length, crc = HEADER.unpack_from(data, offset)
    if magic != MAGIC:
        return None, offset, "bad record marker"
    start = offset + HEADER.size
    if length > MAX_RECORD:
        return None, offset, f"implausible record length {length}"
    if start + length > len(data):
        return None, offset, "truncated"
    payload = data[start : start + length]
    if zlib.crc32(payload) != crc:
        return None, offset, "checksum mismatch"
    try:
        event = json.loads(payload)
    except ValueError:
        return None, offset, "undecodable JSON"
    if not isinstance(event, dict):
        return None, offset, "record is not a JSON object"
    return event, start + length, ""


def _next_valid_record(data: bytes, offset: int) -> int | None:
    while True:
        offset = data.find(MAGIC, offset)
        if offset < 0:
            return None
        event, _, _ = _decode_at(data, offset)
        if event is not None:
            return offset
        offset += 1


def read_events(
    directory: str | os.PathLike[str], problems: list[JournalProblem] | None = None
) -> Iterator[dict[str, Any]]:
    """Every intact event in the journal, oldest first; skipped damage goes into `problems`."""
    reader = JournalReader(Path(directory))
    try:
        yield from reader
    finally:
        if problems is not None:
            problems.extend(reader.problems)
