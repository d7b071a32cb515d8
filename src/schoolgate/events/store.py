"""The event store: every event, queryable by time, person, device and site.

One code path over two databases, chosen by URL:

- `sqlite:///var/events.sqlite3` (or a bare path): embedded, the default. Chosen over DuckDB
  by measurement (docs/benchmarks.md, "Event store"): row-batch ingest is several times faster
  and the dashboard's indexed look-ups (a user's last 30 minutes) answer in well under a
  millisecond, while DuckDB only wins on whole-table scans a school never needs at its size.
- `postgresql://user@host:port/dbname`: for trusts and larger sites (psycopg).

The SQL is written once with `?` placeholders; PostgreSQL gets them as `%s`. Times are stored
as integer microseconds since the epoch (UTC), so hour buckets and ranges are plain integer
arithmetic in both databases. Indexes: (at), (user, at), (address, at), (host, at),
(action, at), (target) — so each of the console's query-log filters (issue 13) is "walk one index
newest first and stop after a page", never a scan: a time range, a person's history, a device's,
a site's, blocks or warnings. Categories (an event may have several) get their own table,
`event_category` (category, at, event id), written by `append` with the events, walked the
same way for "category X, newest first"; with a person, device or site filter as well, that
index drives and the category is a primary-key probe. The dashboard reads only `event_rollup`
(hour and day counts by dimension, kept in the same transaction).

Data minimisation (STM-099, STM-100, STM-106): `purge(older_than)` deletes what the policy's
retention no longer allows; `subject_access(user)` exports everything held about one person
(STM-105). Positions of ingesters (how far a journal or log was read) live in the same
database, in the same transaction as the events they cover, so a crash never double-counts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from schoolgate.events.schema import ALERT_LEVELS, Event

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
HOUR_US = 3_600_000_000

COLUMNS = (
    "at_us",
    "source",
    "kind",
    "address",
    "user_name",
    "group_id",
    "target",
    "host",
    "search",
    "action",
    "category",
    "categories",
    "rule",
    "alert",
    "alert_rank",
    "notify",
    "keywords",
    "reason",
    "extra",
)
_SELECT = ", ".join(COLUMNS)
_SELECT_E = ", ".join(f"e.{c}" for c in COLUMNS)

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS events (
        id {id},
        at_us BIGINT NOT NULL,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        address TEXT,
        user_name TEXT,
        group_id TEXT,
        target TEXT,
        host TEXT,
        search TEXT,
        action TEXT,
        category TEXT,
        categories TEXT NOT NULL,
        rule TEXT,
        alert TEXT NOT NULL,
        alert_rank SMALLINT NOT NULL,
        notify TEXT NOT NULL,
        keywords TEXT NOT NULL,
        reason TEXT,
        extra TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS events_at ON events (at_us)",
    "CREATE INDEX IF NOT EXISTS events_user_at ON events (user_name, at_us)",
    "CREATE INDEX IF NOT EXISTS events_address_at ON events (address, at_us)",
    "CREATE INDEX IF NOT EXISTS events_target ON events (target)",
    "CREATE INDEX IF NOT EXISTS events_host_at ON events (host, at_us)",
    "CREATE INDEX IF NOT EXISTS events_action_at ON events (action, at_us)",
    # One row per (event, category): the query log's category filter walks this newest first.
    """CREATE TABLE IF NOT EXISTS event_category (
        category TEXT NOT NULL,
        at_us BIGINT NOT NULL,
        event_id BIGINT NOT NULL,
        PRIMARY KEY (category, at_us, event_id)
    ){without_rowid}""",
    "DROP TABLE IF EXISTS event_counts",  # the first rollup layout (hours only), never used
    """CREATE TABLE IF NOT EXISTS event_rollup (
        dim TEXT NOT NULL,
        grain_us BIGINT NOT NULL,
        start_us BIGINT NOT NULL,
        value TEXT NOT NULL,
        action TEXT NOT NULL,
        n BIGINT NOT NULL,
        PRIMARY KEY (dim, grain_us, start_us, value, action)
    )""",
    "CREATE TABLE IF NOT EXISTS positions (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


_CATEGORY_BACKFILL = {
    "sqlite": "INSERT OR IGNORE INTO event_category (category, at_us, event_id) "
    "SELECT j.value, e.at_us, e.id FROM events e, json_each(e.categories) j "
    "WHERE e.categories <> '[]'",
    "postgres": "INSERT INTO event_category (category, at_us, event_id) "
    "SELECT DISTINCT c, e.at_us, e.id FROM events e, "
    "jsonb_array_elements_text(e.categories::jsonb) AS c WHERE e.categories <> '[]' "
    "ON CONFLICT DO NOTHING",
}
_CATEGORY_MARK = "schema:event_category"


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message says which store and why."""


def to_micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise StoreError("store times must carry a time zone")
    return (moment - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def host_of(target: str | None) -> str | None:
    """The host name of a URL or host target (what 'top blocked hosts' counts)."""
    if not target:
        return None
    rest = target.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("?", 1)[0]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def event_row(event: Event) -> tuple[Any, ...]:
    return (
        to_micros(event.at),
        event.source,
        event.kind,
        event.address,
        event.user,
        event.group,
        event.target,
        host_of(event.target),
        event.search,
        event.action,
        event.categories[0] if event.categories else None,
        json.dumps(list(event.categories)),
        event.rule,
        event.alert,
        ALERT_LEVELS.index(event.alert),
        json.dumps(list(event.notify)),
        json.dumps(list(event.keywords)),
        event.reason,
        json.dumps(event.extra) if event.extra else None,
    )


def row_event(row: Sequence[Any]) -> Event:
    (at_us, source, kind, address, user, group, target, _host, search, action, _category,
     categories, rule, alert, _rank, notify, keywords, reason, extra) = row  # fmt: skip
    return Event(
        at=from_micros(at_us),
        source=source,
        kind=kind,
        address=address,
        user=user,
        group=group,
        target=target,
        search=search,
        action=action,
        categories=tuple(json.loads(categories)),
        rule=rule,
        alert=alert,
        notify=tuple(json.loads(notify)),
        keywords=tuple(json.loads(keywords)),
        reason=reason,
        extra=json.loads(extra) if extra else {},
    )


@dataclass(frozen=True, slots=True)
class HourCount:
    hour: datetime
    total: int
    blocked: int


# Rollups for the console's dashboard (issue 13): one row per dimension, grain (hour or day,
# UTC), start, value and action, kept in the same transaction as the events, so a dashboard over
# 10 million events sums thousands of rows instead of scanning millions: hours for the last day,
# days for a week or a month. Only decisions are counted. Blocked devices and hosts are rolled
# up for blocks only (what the dashboard ranks); categories, groups and totals for every action.
ROLLUP_DIMENSIONS = ("total", "category", "group_id", "address", "host")
_BLOCK_ONLY = frozenset({"address", "host"})
DAY_US = 24 * HOUR_US
GRAINS = (HOUR_US, DAY_US)


def rollup_keys(row: Sequence[Any]) -> list[tuple[str, int, int, str, str]]:
    """The (dimension, grain, start, value, action) cells one `event_row` adds 1 to."""
    if row[2] != "decision":
        return []
    action = row[9] or ""
    values = {"total": "", "category": row[10], "group_id": row[5], "address": row[3],
              "host": row[7]}  # fmt: skip
    return [
        (dim, grain, row[0] // grain * grain, value or "", action)
        for dim, value in values.items()
        if dim not in _BLOCK_ONLY or (action == "block" and value)
        for grain in GRAINS
    ]


class EventStore:
    """Append events, query them, aggregate them for the dashboard, purge them."""

    def __init__(self, connection: Any, dialect: str, where: str) -> None:
        self._connection = connection
        self.dialect = dialect
        self.where = where
        self._lock = threading.RLock()
        self._create_schema()

    # Opening ----------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | Path) -> EventStore:
        """`sqlite:///relative/path`, `sqlite:////absolute/path`, a bare path,
        `sqlite://:memory:`, or `postgresql://user@host:port/dbname`."""
        text = str(url)
        if text.startswith(("postgresql://", "postgres://")):
            return cls._open_postgres(text)
        if text.startswith("sqlite:///"):
            return cls._open_sqlite(text[len("sqlite:///") :])  # sqlite:////abs, sqlite:///rel
        return cls._open_sqlite(text.removeprefix("sqlite://"))

    @classmethod
    def _open_sqlite(cls, path: str) -> EventStore:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            connection.execute("PRAGMA busy_timeout=20000")
        except sqlite3.Error as exc:
            raise StoreError(f"event store {path}: {exc}") from None
        return cls(connection, "sqlite", path)

    @classmethod
    def _open_postgres(cls, url: str) -> EventStore:
        import psycopg

        try:
            connection = psycopg.connect(url, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"event store {_safe_url(url)}: {exc}") from None
        return cls(connection, "postgres", _safe_url(url))

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> EventStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The one SQL path ---------------------------------------------------------------------------

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.dialect == "postgres" else text

    def _create_schema(self) -> None:
        id_type = (
            "BIGSERIAL PRIMARY KEY"
            if self.dialect == "postgres"
            else "INTEGER PRIMARY KEY AUTOINCREMENT"
        )
        without_rowid = " WITHOUT ROWID" if self.dialect == "sqlite" else ""
        with self._transaction() as cursor:
            for statement in _SCHEMA:
                cursor.execute(statement.format(id=id_type, without_rowid=without_rowid))
        if self.position(_CATEGORY_MARK) is None:  # a store written before event_category
            with self._transaction() as cursor:
                self._fill_categories(cursor)
                self._save_position(cursor, _CATEGORY_MARK, "1")
        has_counts = self._rows("SELECT 1 FROM event_rollup LIMIT 1")
        if not has_counts and self._rows("SELECT 1 FROM events LIMIT 1"):
            self.rebuild_rollups()  # a store written before the rollups existed

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            else:
                cursor.execute("COMMIT")
            finally:
                cursor.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            cursor = self._connection.cursor()
            try:
                cursor.execute(self._sql(sql), tuple(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    # Writing ----------------------------------------------------------------------------------

    def append(self, events: Iterable[Event], *, position: tuple[str, str] | None = None) -> int:
        """Store `events` in one transaction (with an ingester's new `position`, if given)."""
        batch = list(events)
        rows = [event_row(e) for e in batch]
        counts = Counter(key for row in rows for key in rollup_keys(row))
        with self._transaction() as cursor:
            if rows:
                ids = self._insert_events(cursor, rows)
                self._add_categories(cursor, batch, ids)
                self._add_counts(cursor, counts)
            if position is not None:
                self._save_position(cursor, *position)
        return len(rows)

    def _insert_events(self, cursor: Any, rows: list[tuple[Any, ...]]) -> list[int]:
        """Insert the rows; their ids, in order. PostgreSQL: ids drawn from the sequence first,
        then inserted with the rows. SQLite: inside the write transaction nobody else inserts
        and AUTOINCREMENT gives each row the next id, so the ids are the `len(rows)` ending at
        the last one inserted."""
        placeholders = ", ".join("?" * len(COLUMNS))
        if self.dialect == "postgres":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('events', 'id')) "
                "FROM generate_series(1, %s)",
                (len(rows),),
            )
            ids = sorted(row[0] for row in cursor.fetchall())
            cursor.executemany(
                f"INSERT INTO events (id, {_SELECT}) VALUES (%s, {self._sql(placeholders)})",
                [(i, *row) for i, row in zip(ids, rows, strict=True)],
            )
            return ids
        cursor.executemany(f"INSERT INTO events ({_SELECT}) VALUES ({placeholders})", rows)
        last = cursor.execute("SELECT last_insert_rowid()").fetchone()[0]
        return list(range(last - len(rows) + 1, last + 1))

    def _add_categories(self, cursor: Any, batch: list[Event], ids: list[int]) -> None:
        """The batch's `event_category` rows, in the events' transaction. Written here rather
        than by a trigger: a trigger cost 45-55 µs of CPU per event on either database, as much
        again as the rest of the insert (docs/benchmarks.md)."""
        rows = [
            (category, to_micros(event.at), event_id)
            for event, event_id in zip(batch, ids, strict=True)
            for category in event.categories
        ]
        if self.dialect == "postgres":  # one statement: psycopg's executemany costs a round each
            cursor.execute(
                "INSERT INTO event_category (category, at_us, event_id) "
                "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) "
                "ON CONFLICT DO NOTHING",
                [list(column) for column in zip(*rows, strict=True)] if rows else [[], [], []],
            )
            return
        cursor.executemany(
            "INSERT INTO event_category (category, at_us, event_id) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            rows,
        )

    def _add_counts(self, cursor: Any, counts: Counter) -> None:
        cursor.executemany(
            self._sql(
                "INSERT INTO event_rollup (dim, grain_us, start_us, value, action, n) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dim, grain_us, start_us, value, action) "
                "DO UPDATE SET n = event_rollup.n + excluded.n"
            ),
            [(*key, n) for key, n in counts.items()],
        )

    def rebuild_rollups(self) -> None:
        """Recount the hourly rollups from the events (after a bulk load or an upgrade)."""
        selects = {
            "total": "''",
            "category": "COALESCE(category, '')",
            "group_id": "COALESCE(group_id, '')",
            "address": "address",
            "host": "host",
        }
        with self._transaction() as cursor:
            cursor.execute("DELETE FROM event_rollup")
            for dim, value in selects.items():
                only = f" AND action = 'block' AND {value} IS NOT NULL AND {value} <> ''"
                cursor.execute(
                    f"INSERT INTO event_rollup (dim, grain_us, start_us, value, action, n) "
                    f"SELECT '{dim}', {HOUR_US}, (at_us / {HOUR_US}) * {HOUR_US}, {value}, "
                    f"COALESCE(action, ''), COUNT(*) FROM events WHERE kind = 'decision'"
                    f"{only if dim in _BLOCK_ONLY else ''} GROUP BY 3, 4, 5"
                )
            # Days are sums of whole hours (UTC days are whole hours), one pass over the events.
            cursor.execute(
                f"INSERT INTO event_rollup (dim, grain_us, start_us, value, action, n) "
                f"SELECT dim, {DAY_US}, (start_us / {DAY_US}) * {DAY_US}, value, action, SUM(n) "
                f"FROM event_rollup WHERE grain_us = {HOUR_US} GROUP BY dim, 3, value, action"
            )

    def _fill_categories(self, cursor: Any) -> None:
        """Recount `event_category` from the events' category lists (after a bulk load that
        bypassed `append`, or an upgrade)."""
        cursor.execute("DELETE FROM event_category")
        cursor.execute(_CATEGORY_BACKFILL[self.dialect])

    def rebuild_categories(self) -> None:
        with self._transaction() as cursor:
            self._fill_categories(cursor)

    def _save_position(self, cursor: Any, name: str, value: str) -> None:
        cursor.execute(
            self._sql(
                "INSERT INTO positions (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value"
            ),
            (name, value),
        )

    def position(self, name: str) -> str | None:
        rows = self._rows("SELECT value FROM positions WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_position(self, name: str, value: str) -> None:
        with self._transaction() as cursor:
            self._save_position(cursor, name, value)

    def purge(self, older_than: datetime) -> int:
        """Delete every event before `older_than`; returns how many went."""
        with self._transaction() as cursor:
            cursor.execute(
                self._sql("DELETE FROM events WHERE at_us < ?"), (to_micros(older_than),)
            )
            purged = cursor.rowcount
            cursor.execute(
                self._sql("DELETE FROM event_category WHERE at_us < ?"), (to_micros(older_than),)
            )
            # Whole hours and days before the cut leave the rollups too (a partial one stays).
            cursor.execute(
                self._sql("DELETE FROM event_rollup WHERE start_us + grain_us <= ?"),
                (to_micros(older_than),),
            )
            return purged

    # Reading ----------------------------------------------------------------------------------

    def query(
        self,
        *,
        user: str | None = None,
        address: str | None = None,
        target: str | None = None,
        host: str | None = None,
        action: str | None = None,
        source: str | None = None,
        kind: str | None = None,
        min_alert: str | None = None,
        category: str | None = None,
        since: datetime | None = None,
        before: datetime | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[Event]:
        """Events matching every given filter, newest first (page on with `before`)."""
        # SQLite plans without statistics unless someone ran ANALYZE, and then takes the
        # (action, at) index as readily as (user, at): for "this pupil's blocks" it would walk
        # every block in the store. With a more selective filter given, the action, source and
        # kind are written so that no index serves them (`+action`). PostgreSQL keeps its own
        # statistics (autovacuum) and needs no such hint.
        sqlite = self.dialect == "sqlite"
        selective = any(v is not None for v in (user, address, target, host, category))
        where, params = _filters(
            weak=sqlite and selective,
            user=user,
            address=address,
            target=target,
            host=host,
            action=action,
            source=source,
            kind=kind,
            min_alert=min_alert,
            category=category,
            since=since,
            before=before,
        )
        order = "ASC" if oldest_first else "DESC"
        if category is not None and user is None and address is None and host is None:
            # The category is the most selective filter given: walk its index in time order
            # and fetch each event by id (the other filters apply to the event).
            where, params = _filters(
                weak=sqlite,
                target=target,
                action=action,
                source=source,
                kind=kind,
                min_alert=min_alert,
            )
            times, time_params = _time_range("c.at_us", since, before)
            sql = (
                f"SELECT {_SELECT_E} FROM event_category c JOIN events e ON e.id = c.event_id "
                f"WHERE c.category = ?{times}{where.replace(' WHERE ', ' AND ')} "
                f"ORDER BY c.at_us {order}, c.event_id {order} LIMIT ?"
            )
            params = [category, *time_params, *params]
        else:
            sql = f"SELECT {_SELECT} FROM events{where} ORDER BY at_us {order}, id {order} LIMIT ?"
        return [row_event(r) for r in self._rows(sql, [*params, int(limit)])]

    def count(self, **filters: Any) -> int:
        where, params = _filters(**filters)
        return int(self._rows(f"SELECT COUNT(*) FROM events{where}", params)[0][0])

    def user_recent(self, user: str, at: datetime, minutes: int = 30) -> list[Event]:
        """A user's events in the `minutes` up to and including `at`, oldest first."""
        return self.query(
            user=user,
            since=at - timedelta(minutes=minutes),
            before=at + MICROSECOND,
            limit=10_000,
            oldest_first=True,
        )

    def subject_access(self, user: str) -> list[dict[str, Any]]:
        """Everything held about `user`, oldest first, as event records (STM-105)."""
        sql = f"SELECT {_SELECT} FROM events WHERE user_name = ? ORDER BY at_us, id"
        return [row_event(r).to_record() for r in self._rows(sql, (user,))]

    # Dashboard aggregates ---------------------------------------------------------------------

    def counts_by_hour(self, since: datetime, before: datetime) -> list[HourCount]:
        sql = (
            "SELECT at_us / ? AS hour, COUNT(*), "
            "SUM(CASE WHEN action = 'block' THEN 1 ELSE 0 END) "
            "FROM events WHERE at_us >= ? AND at_us < ? GROUP BY hour ORDER BY hour"
        )
        rows = self._rows(sql, (HOUR_US, to_micros(since), to_micros(before)))
        return [HourCount(from_micros(int(h) * HOUR_US), int(t), int(b or 0)) for h, t, b in rows]

    def counts_by(
        self, column: str, since: datetime, before: datetime, *, action: str | None = None
    ) -> list[tuple[str | None, int]]:
        """Counts grouped by one column (`category`, `group_id`, …), largest first."""
        if column not in {
            "category",
            "group_id",
            "action",
            "source",
            "alert",
            "user_name",
            "address",
        }:
            raise ValueError(f"cannot count by {column!r}")
        where, params = _filters(since=since, before=before, action=action)
        sql = (
            f"SELECT {column}, COUNT(*) AS n FROM events{where} "
            f"GROUP BY {column} ORDER BY n DESC, ({column} IS NULL), {column}"
        )
        return [(value, int(n)) for value, n in self._rows(sql, params)]

    def hourly_totals(
        self, since: datetime, before: datetime, *, grain: int = HOUR_US
    ) -> list[HourCount]:
        """Decisions and blocks per hour (or per day: `grain=DAY_US`) from the rollups; `since`
        and `before` are on the grain's boundaries (UTC)."""
        sql = (
            "SELECT start_us, SUM(n), SUM(CASE WHEN action = 'block' THEN n ELSE 0 END) "
            "FROM event_rollup WHERE dim = 'total' AND grain_us = ? AND start_us >= ? "
            "AND start_us < ? GROUP BY start_us ORDER BY start_us"
        )
        rows = self._rows(sql, (grain, to_micros(since), to_micros(before)))
        return [HourCount(from_micros(int(h)), int(t), int(b or 0)) for h, t, b in rows]

    def rollup_counts(
        self,
        dim: str,
        since: datetime,
        before: datetime,
        *,
        action: str | None = None,
        limit: int = 10,
        grain: int = HOUR_US,
    ) -> list[tuple[str | None, int]]:
        """The largest values of `dim` (see ROLLUP_DIMENSIONS) over whole hours or days;
        `address` and `host` are counted for blocks only. An empty value is None."""
        if dim not in ROLLUP_DIMENSIONS:
            raise ValueError(f"no rollup by {dim!r}")
        where = "dim = ? AND grain_us = ? AND start_us >= ? AND start_us < ?"
        params: list[Any] = [dim, grain, to_micros(since), to_micros(before)]
        if action is not None:
            where += " AND action = ?"
            params.append(action)
        sql = (
            f"SELECT value, SUM(n) AS total FROM event_rollup WHERE {where} "
            f"GROUP BY value ORDER BY total DESC, value LIMIT ?"
        )
        return [(v or None, int(n)) for v, n in self._rows(sql, [*params, int(limit)])]

    def actions_between(
        self, since: datetime, before: datetime, *, grain: int = HOUR_US
    ) -> dict[str, int]:
        """Decisions by action over whole hours (or days), from the rollups."""
        sql = (
            "SELECT action, SUM(n) FROM event_rollup WHERE dim = 'total' AND grain_us = ? "
            "AND start_us >= ? AND start_us < ? GROUP BY action"
        )
        rows = self._rows(sql, (grain, to_micros(since), to_micros(before)))
        return {a or "none": int(n) for a, n in rows}

    def top_blocked_hosts(
        self, since: datetime, before: datetime, limit: int = 10
    ) -> list[tuple[str, int]]:
        sql = (
            "SELECT host, COUNT(*) AS n FROM events "
            "WHERE at_us >= ? AND at_us < ? AND action = 'block' AND host IS NOT NULL "
            "GROUP BY host ORDER BY n DESC, host LIMIT ?"
        )
        rows = self._rows(sql, (to_micros(since), to_micros(before), int(limit)))
        return [(h, int(n)) for h, n in rows]


def _filters(*, weak: bool = False, **given: Any) -> tuple[str, list[Any]]:
    """WHERE clauses for the given filters; `weak`: no index may serve the action, source or
    kind (SQLite's unary `+`), so the planner takes a more selective one."""
    clauses: list[str] = []
    params: list[Any] = []
    columns = {
        "user": "user_name",
        "address": "address",
        "target": "target",
        "host": "host",
        "action": "action",
        "source": "source",
        "kind": "kind",
    }
    for name, column in columns.items():
        if given.get(name) is not None:
            plus = "+" if weak and name in {"action", "source", "kind"} else ""
            clauses.append(f"{plus}{column} = ?")
            params.append(given[name])
    if given.get("category") is not None:  # any of the event's categories, not just the first
        clauses.append(
            "EXISTS (SELECT 1 FROM event_category c WHERE c.category = ? "
            "AND c.at_us = events.at_us AND c.event_id = events.id)"
        )
        params.append(given["category"])
    if given.get("min_alert") is not None:
        clauses.append("alert_rank >= ?")
        params.append(ALERT_LEVELS.index(given["min_alert"]))
    if given.get("since") is not None:
        clauses.append("at_us >= ?")
        params.append(to_micros(given["since"]))
    if given.get("before") is not None:
        clauses.append("at_us < ?")
        params.append(to_micros(given["before"]))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _time_range(
    column: str, since: datetime | None, before: datetime | None
) -> tuple[str, list[Any]]:
    clauses, params = "", []
    if since is not None:
        clauses += f" AND {column} >= ?"
        params.append(to_micros(since))
    if before is not None:
        clauses += f" AND {column} < ?"
        params.append(to_micros(before))
    return clauses, params


def _safe_url(url: str) -> str:
    """The URL without a password, for error messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
