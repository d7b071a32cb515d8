"""A crash-safe, append-only journal of gateway decisions, in size-rotated segment files.

Each record on disk is a 10-byte header then a compact JSON payload:

    b"SG" | payload length (uint32, big-endian) | CRC32 of payload (uint32, big-endian) | payload

A writer always starts a fresh segment, so a record torn by a crash stays at the tail of the
segment it was being written to. The reader checks every length and CRC; a torn or corrupt
record is reported (`JournalReader.problems`) and skipped, and reading resumes at the next
valid header (the `SG` magic plus a matching CRC), so one bad record costs only itself.

Durability contract (issue 8, "nothing answered is lost"): `append()` encodes the event and adds
its record to one in-memory buffer (`append_payload()` for bytes already encoded: the header goes
straight into the buffer); `hand_over()` writes the whole buffer to the segment file with one
`write()`, and a segment that has reached its size is retired after it. A gateway calls
`hand_over()` before it sends the answer an event belongs to (the DNS resolver once per batch of
datagrams, the proxy and pages per request), so every answered decision is in the operating
system's page cache before the client sees the answer and survives a `kill -9` of the gateway. A
background thread fsyncs on an interval (`flush_interval`, default 50 ms or
`SCHOOLGATE_JOURNAL_FLUSH_SECONDS`) — the guard against power loss — and also hands over anything a
caller left waiting, so writers that never call `hand_over()` still reach the disk within the
interval. `acknowledged` counts events written and fsynced; `flush()` hands over and waits until
everything appended is acknowledged. If nobody hands over and more than `max_pending` events wait,
new events are dropped and counted (`dropped`), and a `journal-dropped` event records how many.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schoolgate.events.schema import Event, epoch_to_time

log = logging.getLogger(__name__)

MAGIC = b"SG"
HEADER = struct.Struct(">2sII")
_pack_header = HEADER.pack
_crc32 = zlib.crc32
MAX_RECORD = 16 * 1024 * 1024
SEGMENT_SUFFIX = ".jnl"
SEGMENT_BYTES = 64 * 1024 * 1024
FLUSH_INTERVAL = 0.05
FLUSH_INTERVAL_VARIABLE = "SCHOOLGATE_JOURNAL_FLUSH_SECONDS"
"""Seconds between the background thread's fsyncs (and its hand-over of what callers left),
unless the writer is given `flush_interval`: the window a power cut can cost."""


class JournalError(RuntimeError):
    """The journal cannot be written (closed, or the directory is unusable)."""


_to_json = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str).encode


def encode_record(event: dict[str, Any]) -> bytes:
    return encode_payload(_to_json(event).encode())


def encode_payload(payload: bytes) -> bytes:
    """The record around an event already encoded as a compact JSON object."""
    if len(payload) > MAX_RECORD:
        raise JournalError(f"event of {len(payload)} bytes exceeds the {MAX_RECORD}-byte limit")
    return HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def unencodable_record(error: str) -> bytes:
    """The record of a `journal-unencodable` event, in place of an event that could not be kept."""
    return encode_record(_journal_event("journal-unencodable", {"error": error[:500]}))


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
    """Encodes on the caller's thread, writes on `hand_over()`, fsyncs in the background."""

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        segment_bytes: int = SEGMENT_BYTES,
        flush_interval: float | None = None,
        batch_size: int = 1000,
        max_pending: int = 200_000,
        fsync: bool = True,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.segment_bytes = segment_bytes
        if flush_interval is None:
            flush_interval = float(os.environ.get(FLUSH_INTERVAL_VARIABLE) or FLUSH_INTERVAL)
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        self.fsync = fsync
        self.appended = 0
        self.written = 0
        self.acknowledged = 0
        self.dropped = 0
        self._buffer = bytearray()  # appended records not yet handed over
        self._count = 0  # how many records are in `_buffer`
        self._unreported_drops = 0
        self._lock = threading.Lock()
        self._sources: list[Callable[[], None]] = []
        self._handing = threading.Lock()  # one hand-over at a time once sources are added
        self._wake = threading.Condition(threading.Lock())
        self._durable = threading.Condition(threading.Lock())
        self._closing = False
        self._failure: BaseException | None = None
        self._fd = -1
        self._file_size = 0
        self._retired: list[int] = []  # full segments still to be fsynced and closed
        self._open_new_segment()
        self._thread = threading.Thread(target=self._run, name="journal-sync", daemon=True)
        self._thread.start()

    # The request path -------------------------------------------------------------------------

    def append(self, event: dict[str, Any]) -> bool:
        """Encode and keep an event; returns False (and counts it) if it had to be dropped."""
        return self._keep(self._encode(event))

    def append_payload(self, payload: bytes) -> bool:
        """`append` for an event already encoded as JSON (the DNS resolver's fast path): the
        header is added straight into the buffer, with no record object in between."""
        if len(payload) > MAX_RECORD:
            exc = JournalError(f"event of {len(payload)} bytes exceeds the {MAX_RECORD}-byte limit")
            return self._keep(
                self._encode(_journal_event("journal-unencodable", {"error": str(exc)}))
            )
        header = _pack_header(MAGIC, len(payload), _crc32(payload))
        with self._lock:
            if not self._room():
                return False
            buffer = self._buffer
            buffer += header
            buffer += payload
            self._count = count = self._count + 1
            self.appended += 1
        if count == self.batch_size:
            self._wake_sync()
        return True

    def append_records(self, records: bytes | bytearray, count: int) -> bool:
        """Keep `count` whole records (header and payload, as `encode_payload` frames them) in
        one go: the DNS resolver's hand-over encodes a batch straight into one buffer. If they
        would take the buffer past `max_pending`, all `count` are dropped and counted."""
        with self._lock:
            if self._closing:
                raise JournalError(f"journal {self.directory} is closed")
            if self._count + count > self.max_pending:
                self.dropped += count
                self._unreported_drops += count
                return False
            self._buffer += records
            before, self._count = self._count, self._count + count
            self.appended += count
        if before < self.batch_size <= before + count:
            self._wake_sync()
        return True

    def _keep(self, record: bytes) -> bool:
        with self._lock:
            if not self._room():
                return False
            self._buffer += record
            self._count = count = self._count + 1
            self.appended += 1
        if count == self.batch_size:
            self._wake_sync()
        return True

    def _room(self) -> bool:
        """Under `_lock`: may one more event be kept? (If not, the drop is counted.)"""
        if self._closing:
            raise JournalError(f"journal {self.directory} is closed")
        if self._count >= self.max_pending:
            self.dropped += 1
            self._unreported_drops += 1
            return False
        return True

    def _wake_sync(self) -> None:
        with self._wake:
            self._wake.notify()

    def add_source(self, drain: Callable[[], None]) -> None:
        """`drain()` is called at the start of every hand-over and appends the events its owner
        kept back (the DNS resolver keeps a batch's decisions and encodes them together here,
        in one tight loop, instead of one at a time between decisions). Hand-overs are then
        serialised, so when `hand_over()` returns, everything kept back before it was called is
        in the OS, whichever thread drained it."""
        with self._handing:
            self._sources.append(drain)

    def hand_over(self) -> None:
        """Write every appended event to the segment file (one `write()`; no fsync)."""
        if not self._sources:
            self._hand_over()
            return
        with self._handing:
            for drain in self._sources:
                drain()
            self._hand_over()

    def _hand_over(self) -> None:
        if not self._count and not self._unreported_drops:
            return
        with self._lock:
            count, self._count = self._count, 0
            drops, self._unreported_drops = self._unreported_drops, 0
            if drops:
                self._buffer += self._encode(_journal_event("journal-dropped", {"count": drops}))
            if not self._buffer:
                return
            data, self._buffer = self._buffer, bytearray()
            try:
                self._write(data)
            except BaseException as exc:
                self._failure = exc
                log.exception("journal %s: write failed", self.directory)
                raise JournalError(f"journal {self.directory}: write failed: {exc}") from exc
            self.written += count

    # Waiting for durability (not for the request path) --------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Hand over and block until every event appended so far is fsynced; False on timeout."""
        self.hand_over()
        target = self.appended
        with self._wake:
            self._wake.notify()
        with self._durable:
            done = self._durable.wait_for(
                lambda: self.acknowledged >= target or self._failure is not None, timeout
            )
        if self._failure is not None:
            raise JournalError(f"journal {self.directory} failed") from self._failure
        return done

    def close(self, timeout: float | None = 10.0) -> None:
        if not self._closing and self._failure is None:
            self.hand_over()  # what sources still hold, while appending is still allowed
        with self._lock:
            if self._closing:
                return
            self._closing = True
        with self._wake:
            self._wake.notify()
        self._thread.join(timeout)
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Writing (under self._lock) -------------------------------------------------------------------

    def _write(self, data: bytearray) -> None:
        """One `write()` for everything handed over; a segment that has reached its size is
        retired after it (so a segment ends past its size by at most one hand-over)."""
        self._write_all(data)
        self._file_size += len(data)
        if self._file_size >= self.segment_bytes:
            self._retired.append(self._fd)
            self._open_new_segment()

    def _write_all(self, data: bytearray) -> None:
        view = memoryview(data)
        while view:  # writes may be partial
            view = view[os.write(self._fd, view) :]

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
        self._fd = fd
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

    # The background thread: hand over what callers left, then fsync ------------------------------

    def _run(self) -> None:
        while True:
            with self._wake:
                if not self._closing and self._count < self.batch_size:
                    self._wake.wait(self.flush_interval)
            closing = self._closing
            try:
                self.hand_over()
                self._sync()
            except BaseException as exc:
                log.exception("journal %s: sync failed", self.directory)
                self._failure = exc
                with self._durable:
                    self._durable.notify_all()
                return
            if closing:
                return

    def _sync(self) -> None:
        with self._lock:
            written, fd = self.written, self._fd
            retired, self._retired = self._retired, []
        for old in retired:
            if self.fsync:
                os.fsync(old)
            os.close(old)
        if self.fsync and written > self.acknowledged:
            os.fsync(fd)
        with self._durable:
            self.acknowledged = max(self.acknowledged, written)
            self._durable.notify_all()


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
