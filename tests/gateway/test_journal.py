"""The decision journal: append-only segments that survive kill -9 and skip torn records."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from schoolgate.events.journal import (
    HEADER,
    JournalReader,
    JournalWriter,
    encode_record,
    read_events,
    segment_paths,
)
from schoolgate.events.schema import Event

WRITER_SCRIPT = """
import sys
from schoolgate.events.journal import JournalWriter

writer = JournalWriter(sys.argv[1], segment_bytes=4096, flush_interval=0.001)
n = 0
while True:
    for _ in range(25):
        writer.append({"seq": n, "who": "10.0.0.7", "what": "example.com", "decision": "allow"})
        n += 1
    writer.flush()
    print(n, flush=True)  # every event below n is acknowledged
"""


def test_events_read_back_in_order_across_segments(tmp_path: Path) -> None:
    with JournalWriter(tmp_path, segment_bytes=1000) as writer:
        for i in range(500):
            assert writer.append({"seq": i, "host": f"h{i}.example"})
            if i % 5 == 4:
                writer.hand_over()  # as the DNS resolver does per batch of datagrams
        assert writer.flush(timeout=10)
        assert writer.acknowledged == 500
    segments = segment_paths(tmp_path)
    assert len(segments) > 5
    # A segment is retired once it reaches its size: it ends past it by at most one hand-over.
    assert all(1000 <= p.stat().st_size < 1000 + 5 * 100 for p in segments[:-1])
    problems: list = []
    assert [e["seq"] for e in read_events(tmp_path, problems)] == list(range(500))
    assert problems == []


def test_reopening_starts_a_new_segment_and_keeps_old_events(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        writer.append({"seq": 0})
    with JournalWriter(tmp_path) as writer:
        writer.append({"seq": 1})
    assert len(segment_paths(tmp_path)) == 2
    assert [e["seq"] for e in read_events(tmp_path)] == [0, 1]


def test_acknowledged_events_survive_kill_9_and_torn_tail_is_skipped(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER_SCRIPT, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    acknowledged = 0
    deadline = time.monotonic() + 20
    while acknowledged < 2000 and time.monotonic() < deadline:
        acknowledged = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    assert acknowledged >= 2000

    seqs = [e["seq"] for e in read_events(tmp_path)]
    assert seqs[:acknowledged] == list(range(acknowledged))
    assert seqs == list(range(len(seqs)))

    # Simulate a crash half-way through writing a record.
    last = segment_paths(tmp_path)[-1]
    half = encode_record({"seq": 10**9, "what": "torn"})
    with last.open("ab") as f:
        f.write(half[: len(half) // 2])
    reader = JournalReader(tmp_path)
    assert [e["seq"] for e in reader] == seqs
    assert len(reader.problems) == 1
    assert reader.problems[0].segment == last
    assert "torn tail" in reader.problems[0].reason


def test_corrupt_record_in_the_middle_costs_only_itself(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        for i in range(10):
            writer.append({"seq": i, "pad": "x" * 20})
    segment = segment_paths(tmp_path)[0]
    data = bytearray(segment.read_bytes())
    record = len(encode_record({"seq": 0, "pad": "x" * 20}))
    data[4 * record + HEADER.size + 3] ^= 0xFF  # flip a payload byte of record 4
    segment.write_bytes(bytes(data))
    problems: list = []
    assert [e["seq"] for e in read_events(tmp_path, problems)] == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert len(problems) == 1
    assert "checksum mismatch" in problems[0].reason


def test_append_never_waits_and_drops_beyond_max_pending(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, flush_interval=60, batch_size=10**9, max_pending=100)
    started = time.perf_counter()
    results = [writer.append({"seq": i}) for i in range(150)]
    assert time.perf_counter() - started < 0.5
    assert results.count(False) == 50
    assert writer.dropped == 50
    writer.close()
    events = list(read_events(tmp_path))
    assert [e["seq"] for e in events if "seq" in e] == list(range(100))
    (dropped,) = (Event.from_record(e) for e in events if "seq" not in e)
    assert (dropped.source, dropped.kind, dropped.extra) == (
        "journal",
        "journal-dropped",
        {"count": 50},
    )


def test_unserialisable_values_are_written_as_text(tmp_path: Path) -> None:
    with JournalWriter(tmp_path) as writer:
        writer.append({"when": time.gmtime(0), "path": tmp_path})
    (event,) = read_events(tmp_path)
    assert event["path"] == str(tmp_path)


def test_append_after_close_is_an_error(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path)
    writer.close()
    with pytest.raises(RuntimeError, match="closed"):
        writer.append({"seq": 1})


def test_hand_over_puts_events_in_the_file_before_any_fsync(tmp_path: Path) -> None:
    writer = JournalWriter(tmp_path, flush_interval=60, batch_size=10**9)
    writer.append({"seq": 0})
    writer.append_payload(b'{"seq":1}')
    assert list(read_events(tmp_path)) == []  # kept in memory until handed over
    writer.hand_over()
    assert [e["seq"] for e in read_events(tmp_path)] == [0, 1]  # a kill -9 now loses nothing
    assert writer.written == 2 and writer.acknowledged == 0
    assert writer.flush(timeout=10) and writer.acknowledged == 2
    writer.close()


def test_a_source_is_drained_by_every_hand_over_and_on_close(tmp_path: Path) -> None:
    """The DNS resolver keeps a batch's decisions back and encodes them at hand-over
    (`add_source`): what it holds is in the file when `hand_over()` returns, and on close."""
    held: list[bytes] = []
    writer = JournalWriter(tmp_path, flush_interval=60)

    def drain() -> None:
        while held:
            writer.append_payload(held.pop(0))

    writer.add_source(drain)
    held.append(b'{"seq":1}')
    writer.hand_over()
    assert [e["seq"] for e in read_events(tmp_path)] == [1]  # before any fsync
    held.append(b'{"seq":2}')
    writer.close()
    assert [e["seq"] for e in read_events(tmp_path)] == [1, 2]
