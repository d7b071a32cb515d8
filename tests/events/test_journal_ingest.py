"""Journal → store ingestion resumes where it stopped and loses nothing (STM-008)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schoolgate.events.journal import JournalWriter, segment_paths
from schoolgate.events.journal_ingest import JournalIngester
from schoolgate.events.schema import Event
from schoolgate.events.store import EventStore

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _record(i: int) -> dict:
    return Event(at=T0 + timedelta(seconds=i), source="dns", target=f"h{i}.example").to_record()


def test_ingestion_resumes_at_its_position(tmp_path) -> None:
    store = EventStore.open(tmp_path / "events.sqlite3")
    writer = JournalWriter(tmp_path / "journal", fsync=False)
    for i in range(1500):
        writer.append(_record(i))
    writer.append({"type": "legacy-shape"})  # not an Event: counted, not stored
    writer.flush()
    seen: list[int] = []
    ingester = JournalIngester(tmp_path / "journal", store, on_events=lambda b: seen.append(len(b)))
    first = ingester.run_once()
    assert (first.stored, first.skipped) == (1500, 1)
    assert "field 'v'" in first.problems[0]
    assert sum(seen) == 1500
    for i in range(1500, 1600):
        writer.append(_record(i))
    writer.close()
    # A new ingester (a restarted monitor) reads only what is new.
    again = JournalIngester(tmp_path / "journal", EventStore.open(tmp_path / "events.sqlite3"))
    assert again.run_once().stored == 100
    assert again.run_once().stored == 0
    assert store.count() == 1600


def test_a_torn_tail_is_read_once_complete(tmp_path) -> None:
    store = EventStore.open(tmp_path / "events.sqlite3")
    writer = JournalWriter(tmp_path / "journal", fsync=False)
    writer.append(_record(1))
    writer.append(_record(2))
    writer.close()
    [segment] = segment_paths(tmp_path / "journal")
    whole = segment.read_bytes()
    segment.write_bytes(whole[:-5])  # the second record is still being written
    ingester = JournalIngester(tmp_path / "journal", store)
    assert ingester.run_once().stored == 1
    segment.write_bytes(whole)
    assert ingester.run_once().stored == 1
    assert [e.target for e in store.query(oldest_first=True)] == ["h1.example", "h2.example"]


def test_a_pass_reads_only_what_follows_its_position(tmp_path) -> None:
    """A live segment grows to 64 MiB: each pass reads from its position, not the whole file;
    problems still name the byte in the file."""
    store = EventStore.open(tmp_path / "events.sqlite3")
    writer = JournalWriter(tmp_path / "journal", fsync=False)
    writer.append(_record(1))
    writer.flush()
    ingester = JournalIngester(tmp_path / "journal", store)
    assert ingester.run_once().stored == 1
    [segment] = segment_paths(tmp_path / "journal")
    read = segment.stat().st_size
    with open(segment, "r+b") as file:  # damage what was already read: no pass looks at it again
        file.write(b"XX")
    writer.append(_record(2))
    writer.append({"type": "legacy-shape"})
    writer.close()
    second = ingester.run_once()
    assert (second.stored, second.skipped) == (1, 1)
    legacy = segment.read_bytes().index(b"SG", read + 1)  # the record after h2.example
    assert second.problems[0].startswith(f"{segment.name}: byte {legacy}:")
    assert ingester.position() == (segment.name, segment.stat().st_size)
    assert ingester.run_once().stored == 0
