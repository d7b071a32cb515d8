"""The outbox: every message the monitor must send, kept on disk until it is delivered.

Delivery cannot fail silently (issue 8). Each alert becomes rows here *before* anyone is
contacted — one email per recipient, one POST to the staff app, one per webhook — in a SQLite
file (`var/monitor/outbox.sqlite3`), committed at once. A sender that is down (mail server,
staff app, webhook) leaves the row pending; it is retried with back-off (1 s, 2 s, 4 s … at
most `MAX_BACKOFF`) for as long as it takes, across restarts, and delivered when the other
side returns. Nothing is ever deleted by a failure.

Deadlines: a row carries the alert's `within` deadline. `due_escalations()` finds rows not
delivered by their deadline (or failed `ESCALATE_AFTER_FAILURES` times) and escalates each
once: the next contact in the out-of-hours call order is released (`held` → `pending`), or,
when there is no one left in the call order, an escalation is recorded for the caller to send
on (STM-007). `latency()` measures alert-to-delivery times: what `docs/benchmarks.md` reports.

The staff-app row is coalesced: while an alert's update is still waiting, a newer one replaces
its body (the app upserts on user and theme, so only the newest count matters).
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_BACKOFF = 60.0
ESCALATE_AFTER_FAILURES = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_key TEXT NOT NULL,
    alert_key TEXT NOT NULL,
    channel TEXT NOT NULL,
    destination TEXT NOT NULL,
    role TEXT,
    call_order INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    deadline REAL,
    next_try REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    delivered_at REAL,
    escalated INTEGER NOT NULL DEFAULT 0,
    UNIQUE (message_key, channel, destination)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_try);
"""

PENDING, HELD, DELIVERED, FAILED = "pending", "held", "delivered", "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    message_key: str
    alert_key: str
    channel: str
    destination: str
    role: str | None
    call_order: int
    payload: dict[str, Any]
    state: str
    created_at: float
    deadline: float | None
    attempts: int
    last_error: str | None
    delivered_at: float | None


_FIELDS = (
    "id, message_key, alert_key, channel, destination, role, call_order, payload, state, "
    "created_at, deadline, attempts, last_error, delivered_at"
)


def _delivery(row: tuple[Any, ...]) -> Delivery:
    values = list(row)
    values[7] = json.loads(values[7])
    return Delivery(*values)


class Outbox:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a queued alert survives power loss
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several adds or updates made durable together (one fsync instead of one each)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Queueing -------------------------------------------------------------------------------------

    def add(
        self,
        *,
        message_key: str,
        alert_key: str,
        channel: str,
        destination: str,
        payload: dict[str, Any],
        now: float,
        deadline: float | None = None,
        role: str | None = None,
        call_order: int = 0,
        held: bool = False,
        replace_waiting: bool = False,
    ) -> bool:
        """Queue one message; an existing one with the same key is kept (False), unless
        `replace_waiting`, which gives it the new body and sends it (again)."""
        body = json.dumps(payload, ensure_ascii=False, default=str)
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO deliveries (message_key, alert_key, channel, destination, role, "
                "call_order, payload, state, created_at, deadline, next_try) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (message_key, channel, destination) DO NOTHING",
                (
                    message_key,
                    alert_key,
                    channel,
                    destination,
                    role,
                    call_order,
                    body,
                    HELD if held else PENDING,
                    now,
                    deadline,
                    now,
                ),
            )
            if cursor.rowcount or not replace_waiting:
                return bool(cursor.rowcount)
            self._db.execute(
                "UPDATE deliveries SET payload = ?, state = CASE WHEN state = ? THEN ? ELSE ? END, "
                "next_try = MIN(next_try, ?) "
                "WHERE message_key = ? AND channel = ? AND destination = ?",
                (body, HELD, HELD, PENDING, now, message_key, channel, destination),
            )
            return False

    # Sending --------------------------------------------------------------------------------------

    def due(self, now: float, limit: int = 100) -> list[Delivery]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_FIELDS} FROM deliveries WHERE state = ? AND next_try <= ? "
                "ORDER BY id LIMIT ?",
                (PENDING, now, limit),
            ).fetchall()
        return [_delivery(r) for r in rows]

    def delivered(self, delivery: Delivery, now: float) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET state = ?, delivered_at = ?, attempts = attempts + 1, "
                "last_error = NULL WHERE id = ? AND payload = ?",
                (
                    DELIVERED,
                    now,
                    delivery.id,
                    json.dumps(delivery.payload, ensure_ascii=False, default=str),
                ),
            )

    def failed(self, delivery: Delivery, error: str, now: float, permanent: bool = False) -> None:
        backoff = min(MAX_BACKOFF, 2.0 ** min(delivery.attempts, 10))
        with self._lock:
            self._db.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_try = ?, "
                "state = ? WHERE id = ?",
                (error[:500], now + backoff, FAILED if permanent else PENDING, delivery.id),
            )

    # Deadlines and the call order -----------------------------------------------------------------

    def due_escalations(self, now: float) -> list[Delivery]:
        """Undelivered rows past their deadline, or failed too often: each returned once."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_FIELDS} FROM deliveries WHERE escalated = 0 AND state IN (?, ?) "
                "AND channel = 'email' AND ((deadline IS NOT NULL AND deadline < ?) "
                "OR attempts >= ? OR state = ?) ORDER BY id",
                (PENDING, FAILED, now, ESCALATE_AFTER_FAILURES, FAILED),
            ).fetchall()
            ids = [r[0] for r in rows]
            self._db.executemany(
                "UPDATE deliveries SET escalated = 1 WHERE id = ?", [(i,) for i in ids]
            )
        return [_delivery(r) for r in rows]

    def release_next(self, alert_key: str, after_order: int, now: float) -> list[Delivery]:
        """Send the held messages of the next contact in the alert's call order."""
        with self._lock:
            row = self._db.execute(
                "SELECT MIN(call_order) FROM deliveries WHERE alert_key = ? AND state = ? "
                "AND call_order > ?",
                (alert_key, HELD, after_order),
            ).fetchone()
            if row[0] is None:
                return []
            self._db.execute(
                "UPDATE deliveries SET state = ?, next_try = ?, created_at = ? "
                "WHERE alert_key = ? AND state = ? AND call_order = ?",
                (PENDING, now, now, alert_key, HELD, row[0]),
            )
            rows = self._db.execute(
                f"SELECT {_FIELDS} FROM deliveries WHERE alert_key = ? AND call_order = ?",
                (alert_key, row[0]),
            ).fetchall()
        return [_delivery(r) for r in rows]

    # Reading --------------------------------------------------------------------------------------

    def all(self, channel: str | None = None) -> list[Delivery]:
        sql = f"SELECT {_FIELDS} FROM deliveries"
        params: tuple[Any, ...] = ()
        if channel is not None:
            sql += " WHERE channel = ?"
            params = (channel,)
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", params).fetchall()
        return [_delivery(r) for r in rows]

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM deliveries GROUP BY state")
            return {state: int(n) for state, n in rows.fetchall()}

    def latency(self, channel: str = "email") -> dict[str, float | int]:
        """Seconds from queueing to delivery: count, median, p95, max; and deadlines missed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT delivered_at - created_at, "
                "deadline IS NOT NULL AND delivered_at > deadline FROM deliveries "
                "WHERE channel = ? AND delivered_at IS NOT NULL",
                (channel,),
            ).fetchall()
        times = sorted(r[0] for r in rows)
        if not times:
            return {"count": 0, "missed": 0}
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        return {
            "count": len(times),
            "median": statistics.median(times),
            "p95": p95,
            "max": times[-1],
            "missed": sum(1 for r in rows if r[1]),
        }
