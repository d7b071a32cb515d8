"""Journal → event store, remembering how far it has read.

The position is `segment-file-name:byte-offset` of the next unread record, saved in the store in
the same transaction as the events it covers: after a crash or restart ingestion resumes exactly
where the last committed batch ended, so no event is stored twice or skipped (STM-008).

A record that is intact on disk but is not a valid `Event` (an older writer, a journal-health
record) is counted in `skipped` with its place and reason, never silently dropped.
A torn tail record (the writer is still writing it, or died mid-record) is left alone: the
position stays before it and the next pass reads it when it is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from schoolgate.events.journal import _decode_at, _next_valid_record, segment_paths
from schoolgate.events.schema import Event, EventError
from schoolgate.events.store import EventStore

log = logging.getLogger(__name__)

BATCH = 1000


@dataclass
class IngestReport:
    stored: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class JournalIngester:
    directory: Path
    store: EventStore
    name: str = "journal"
    on_events: Callable[[list[Event]], None] | None = None
    """Called with each committed batch (the monitor's rules read them here)."""

    def position(self) -> tuple[str, int]:
        saved = self.store.position(self.name)
        if not saved:
            return "", 0
        segment, _, offset = saved.rpartition(":")
        return segment, int(offset)

    def run_once(self) -> IngestReport:
        """Read every complete record after the saved position into the store."""
        report = IngestReport()
        segment, offset = self.position()
        for path in segment_paths(self.directory):
            if path.name < segment:
                continue
            start = offset if path.name == segment else 0
            self._ingest_segment(path, start, report)
        return report

    def _ingest_segment(self, path: Path, start: int, report: IngestReport) -> None:
        """Reads only what lies after `start` (a live segment grows to 64 MiB: reading it whole
        on every pass made each pass slower than the last)."""
        with open(path, "rb") as file:
            file.seek(start)
            data = file.read()
        if not data:
            return
        batch: list[Event] = []
        offset = 0
        while offset < len(data):
            record, next_offset, reason = _decode_at(data, offset)
            if record is None:
                resync = _next_valid_record(data, offset + 1)
                if resync is None:  # a torn tail: wait for the writer to finish it
                    break
                report.problems.append(f"{path.name}: byte {start + offset}: {reason}")
                next_offset = resync
            else:
                try:
                    batch.append(Event.from_record(record))
                except EventError as exc:
                    report.skipped += 1
                    report.problems.append(f"{path.name}: byte {start + offset}: {exc}")
            offset = next_offset
            if len(batch) >= BATCH:
                self._commit(batch, path, start + offset, report)
                batch = []
        if batch or offset:
            self._commit(batch, path, start + offset, report)

    def _commit(self, batch: list[Event], path: Path, offset: int, report: IngestReport) -> None:
        self.store.append(batch, position=(self.name, f"{path.name}:{offset}"))
        report.stored += len(batch)
        if batch and self.on_events is not None:
            self.on_events(batch)
