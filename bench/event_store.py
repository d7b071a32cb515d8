"""Event store: SQLite (Schoolgate's EventStore) against DuckDB, ingest and dashboard queries.

    .venv/bin/pip install duckdb   # only for this comparison; not a Schoolgate dependency
    .venv/bin/python bench/event_store.py [--events 300000] [--rounds 3]

Both get the same synthetic school day (300 pupils on 300 devices, searches, blocks, categories)
in batches of 1,000 (what the journal ingester writes), the same indexes, and the same dashboard
queries: counts by hour, by category, by group, top blocked hosts, and one user's last 30
minutes. Rounds are interleaved (SQLite, DuckDB, SQLite, …); min / median / max are printed with
the load average.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schoolgate.events.schema import Event
from schoolgate.events.store import COLUMNS, EventStore, event_row, to_micros

DAY = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)
CATEGORIES = ["search-engines", "education", "news", "games", "social-media", "gambling", "vpn"]
HOSTS = [f"site{i}.example" for i in range(2000)]


def synthetic_events(n: int, seed: int = 7) -> list[Event]:
    rng = random.Random(seed)
    events = []
    for i in range(n):
        user = rng.randrange(300)
        category = rng.choice(CATEGORIES)
        blocked = category in {"games", "gambling", "vpn"} and rng.random() < 0.8
        host = rng.choice(HOSTS)
        events.append(
            Event(
                at=DAY + timedelta(seconds=i * 36_000 / n),
                source="proxy",
                address=f"10.1.{user // 250}.{user % 250}",
                user=f"pupil-{user}",
                group=rng.choice(["pupil-ks1", "pupil-ks2", "staff"]),
                target=f"https://{host}/page{rng.randrange(50)}",
                search="homework help" if rng.random() < 0.05 else None,
                action="block" if blocked else "allow",
                categories=(category,),
                rule="r" + category,
                alert="low" if blocked else "none",
            )
        )
    return events


class DuckStore:
    """The same table and indexes in DuckDB, written in the same batches."""

    def __init__(self, path: Path) -> None:
        import duckdb

        self.db = duckdb.connect(str(path))
        columns = ", ".join(
            f"{c} {'BIGINT' if c == 'at_us' else 'SMALLINT' if c == 'alert_rank' else 'TEXT'}"
            for c in COLUMNS
        )
        self.db.execute(f"CREATE TABLE events ({columns})")
        for name, cols in [
            ("at", "at_us"),
            ("user_at", "user_name, at_us"),
            ("address_at", "address, at_us"),
            ("target", "target"),
        ]:
            self.db.execute(f"CREATE INDEX events_{name} ON events ({cols})")

    def append(self, events: list[Event]) -> None:
        rows = [event_row(e) for e in events]
        marks = ", ".join("?" * len(COLUMNS))
        self.db.execute("BEGIN")
        self.db.executemany(f"INSERT INTO events VALUES ({marks})", rows)
        self.db.execute("COMMIT")

    def rows(self, sql: str, params: tuple) -> list:
        return self.db.execute(sql, list(params)).fetchall()


DASHBOARD = {
    "by hour": (
        "SELECT at_us // 3600000000 AS h, COUNT(*), SUM(CASE WHEN action='block' THEN 1 ELSE 0 END)"
        " FROM events WHERE at_us >= ? AND at_us < ? GROUP BY h ORDER BY h"
    ),
    "by category": (
        "SELECT category, COUNT(*) AS n FROM events WHERE at_us >= ? AND at_us < ? "
        "GROUP BY category ORDER BY n DESC"
    ),
    "by group": (
        "SELECT group_id, COUNT(*) AS n FROM events WHERE at_us >= ? AND at_us < ? "
        "GROUP BY group_id ORDER BY n DESC"
    ),
    "top blocked hosts": (
        "SELECT host, COUNT(*) AS n FROM events WHERE at_us >= ? AND at_us < ? "
        "AND action = 'block' GROUP BY host ORDER BY n DESC LIMIT 10"
    ),
    "user last 30 min": (
        "SELECT * FROM events WHERE user_name = ? AND at_us >= ? AND at_us < ? ORDER BY at_us"
    ),
}


def query_params(name: str) -> tuple:
    start, end = to_micros(DAY), to_micros(DAY + timedelta(hours=10))
    if name == "user last 30 min":
        mid = to_micros(DAY + timedelta(hours=5))
        return ("pupil-42", mid - 1_800_000_000, mid)
    return (start, end)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def one_round(kind: str, events: list[Event], directory: Path) -> dict[str, float]:
    path = directory / f"{kind}-{time.monotonic_ns()}"
    store = EventStore.open(f"{path}.sqlite3") if kind == "sqlite" else DuckStore(path)

    def ingest() -> None:
        for i in range(0, len(events), 1000):
            store.append(events[i : i + 1000])

    results = {"ingest events/s": len(events) / timed(ingest)}
    for name, sql in DASHBOARD.items():
        params = query_params(name)
        if kind == "sqlite":
            seconds = timed(
                lambda sql=sql, params=params: store._rows(sql.replace("//", "/"), params)
            )
        else:
            seconds = timed(lambda sql=sql, params=params: store.rows(sql, params))
        results[f"{name} ms"] = seconds * 1000
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = synthetic_events(args.events)
    samples: dict[str, dict[str, list[float]]] = {"sqlite": {}, "duckdb": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for kind in ("sqlite", "duckdb"):
                for key, value in one_round(kind, events, Path(tmp)).items():
                    samples[kind].setdefault(key, []).append(value)
    print(f"{args.events:,} events, {args.rounds} rounds, load average {os.getloadavg()}")
    print(f"{'measure':24} {'SQLite min/median/max':>30} {'DuckDB min/median/max':>30}")
    for key in samples["sqlite"]:
        cells = []
        for kind in ("sqlite", "duckdb"):
            values = samples[kind][key]
            cells.append(
                f"{min(values):,.1f} / {statistics.median(values):,.1f} / {max(values):,.1f}"
            )
        print(f"{key:24} {cells[0]:>30} {cells[1]:>30}")


if __name__ == "__main__":
    main()
