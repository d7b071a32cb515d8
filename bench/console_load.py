"""The network manager's console with millions of events: dashboard and query-log latency.

Fills an event store (SQLite file or PostgreSQL database) with generated, realistic events — a
secondary school's 30 days: 1,200 devices (pupils by key stage, staff, visitors, unidentified),
a Zipf-shaped pick of 40,000 sites with categories, about 7 % blocked and 1 % warned, searches,
busy school hours and quiet nights and weekends — then requests the real Django views in process
(the test client, signed in as the network manager, every query-log view audited as in
production) and prints min / p50 / p95 / max per view over several interleaved rounds, with the
load average. The store is filled once and reused (`--reuse`).

    .venv/bin/python bench/console_load.py --store sqlite:///var/bench/console.sqlite3 \\
        --events 10000000 --rounds 3
    .venv/bin/python bench/console_load.py \\
        --store postgresql://postgres@127.0.0.1:5432/sg_console_bench --events 10000000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.events.store import _SCHEMA, COLUMNS, HOUR_US, EventStore, to_micros  # noqa: E402

CATEGORIES = ["news", "education", "search", "social-media", "games", "streaming", "shopping",
              "gambling", "pornography", "proxy", "chat", "webmail", "downloads", None]  # fmt: skip
# How many of the sites fall in each category (uncategorised and benign sites dominate).
CATEGORY_WEIGHTS = [10, 15, 15, 6, 4, 8, 5, 1, 1, 1, 3, 4, 2, 25]
BLOCKED = {"gambling", "pornography", "proxy", "social-media", "games", "chat"}
GROUPS = [("pupil-ks3", 500), ("pupil-ks4", 350), ("sixth-form", 100), ("staff", 180),
          ("visitor", 40), (None, 30)]  # fmt: skip
SEARCHES = ["volcano facts", "photosynthesis diagram", "poker games", "free vpn", "maths help"]


def devices(rng: random.Random) -> list[tuple[str, str | None, str | None]]:
    out = []
    for group, count in GROUPS:
        for i in range(count):
            address = f"10.{20 + len(out) // 250}.{(len(out) % 250) // 50}.{len(out) % 50 + 10}"
            user = f"{group or 'device'}-{i:04d}" if group not in {None, "visitor"} else None
            out.append((address, user, group))
    return out


def sites(rng: random.Random, count: int = 40_000) -> list[tuple[str, str | None]]:
    categories = rng.choices(CATEGORIES, weights=CATEGORY_WEIGHTS, k=count)
    return [(f"www.site{i:05d}.example", category) for i, category in enumerate(categories)]


def hour_weight(moment: datetime) -> float:
    if moment.weekday() >= 5:
        return 0.05
    return 1.0 if 8 <= moment.hour < 16 else (0.15 if 7 <= moment.hour < 20 else 0.02)


def generate(total: int, days: int, seed: int = 13):
    """Rows in the store's column order, oldest first, ending now."""
    rng = random.Random(seed)
    people = [
        (address, user, group, group is not None and group.startswith(("pupil", "sixth")))
        for address, user, group in devices(rng)
    ]
    site_rows = [
        (host, category, json.dumps([category] if category else []),
         f"rule-{category or 'default'}")
        for host, category in sites(rng)
    ]  # fmt: skip
    outcome = {}
    for pupil in (False, True):
        for category in CATEGORIES:
            action = "block" if (pupil and category in BLOCKED) or category == "pornography" else (
                "warn" if category == "downloads" and not pupil else "allow")  # fmt: skip
            alert = "low" if action == "block" and pupil else "none"
            outcome[(pupil, category)] = (action, alert, 1 if alert == "low" else 0)
    cumulative = []
    acc = 0.0
    for rank in range(len(site_rows)):
        acc += 1 / (rank + 1) ** 1.1
        cumulative.append(acc)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = [end - timedelta(hours=h) for h in range(days * 24, 0, -1)]
    hour_weights = [hour_weight(h) for h in hours]
    scale = total / sum(hour_weights)
    made = 0
    sources = ("dns", "proxy")
    for index, hour in enumerate(hours):
        count = round(hour_weights[index] * scale) if index < len(hours) - 1 else total - made
        count = max(0, min(count, total - made))
        base = to_micros(hour)
        picks = rng.choices(site_rows, cum_weights=cumulative, k=count)
        who = rng.choices(people, k=count)
        offsets = sorted(rng.choices(range(HOUR_US), k=count))
        for i in range(count):
            address, user, group, pupil = who[i]
            host, category, cats, rule = picks[i]
            action, alert, rank = outcome[(pupil, category)]
            search = None
            target = host
            if category == "search" and i % 2:
                search = SEARCHES[i % len(SEARCHES)]
                target = f"https://{host}/search?q={search.replace(' ', '+')}"
            yield (base + offsets[i], sources[i & 1], "decision", address, user, group, target,
                   host, search, action, category, cats, rule, alert, rank, "[]", "[]", None,
                   None)  # fmt: skip
        made += count


def _helper_tables(store: EventStore, total: int, days: int) -> None:
    """Small tables the generating SQL draws from: sites, devices, and hours with cumulative
    weights (busy school hours, quiet nights and weekends), ending now."""
    rng = random.Random(13)
    people = devices(rng)
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    hours = [end - timedelta(hours=h) for h in range(days * 24, 0, -1)]
    weights = [hour_weight(h) for h in hours]
    whole = sum(weights)
    cumulative, acc = [], 0.0
    for hour, weight in zip(hours, weights, strict=True):
        acc += weight / whole
        cumulative.append((min(acc, 1.0) if hour != hours[-1] else 1.0, to_micros(hour)))
    statements = [
        "CREATE TABLE gen_sites (id INTEGER PRIMARY KEY, host TEXT, category TEXT, cats TEXT, "
        "rule TEXT, blocked INTEGER)",
        "CREATE TABLE gen_devices (id INTEGER PRIMARY KEY, address TEXT, user_name TEXT, "
        "group_id TEXT, pupil INTEGER)",
        "CREATE TABLE gen_hours (cum_hi DOUBLE PRECISION PRIMARY KEY, start_us BIGINT)",
    ]
    with store._transaction() as cursor:
        for table in ("gen_sites", "gen_devices", "gen_hours"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in statements:
            cursor.execute(statement)
        cursor.executemany(
            store._sql("INSERT INTO gen_sites VALUES (?, ?, ?, ?, ?, ?)"),
            [
                (i, host, category, json.dumps([category] if category else []),
                 f"rule-{category or 'default'}", int(category in BLOCKED))
                for i, (host, category) in enumerate(sites(rng))
            ],
        )  # fmt: skip
        cursor.executemany(
            store._sql("INSERT INTO gen_devices VALUES (?, ?, ?, ?, ?)"),
            [
                (i, a, u, g, int(g is not None and g.startswith(("pupil", "sixth"))))
                for i, (a, u, g) in enumerate(people)
            ],
        )
        cursor.executemany(store._sql("INSERT INTO gen_hours VALUES (?, ?)"), cumulative)


# One generating statement per database: a Zipf-like site pick (r^3 favours the first sites),
# a random device, an hour drawn by its weight, blocks for pupils on blocked categories.
_GENERATE = """
INSERT INTO events ({columns})
SELECT h.start_us + {offset}, CASE WHEN g.i % 2 = 0 THEN 'dns' ELSE 'proxy' END, 'decision',
       d.address, d.user_name, d.group_id,
       CASE WHEN s.category = 'search' AND g.i % 2 = 1
            THEN 'https://' || s.host || '/search?q=poker+games' ELSE s.host END,
       s.host,
       CASE WHEN s.category = 'search' AND g.i % 2 = 1 THEN 'poker games' END,
       CASE WHEN (d.pupil = 1 AND s.blocked = 1) OR s.category = 'pornography' THEN 'block'
            WHEN s.category = 'downloads' AND d.pupil = 0 THEN 'warn' ELSE 'allow' END,
       s.category, s.cats, s.rule,
       CASE WHEN d.pupil = 1 AND s.blocked = 1 THEN 'low' ELSE 'none' END,
       CASE WHEN d.pupil = 1 AND s.blocked = 1 THEN 1 ELSE 0 END,
       '[]', '[]', NULL, NULL
FROM ({series}) g
JOIN gen_sites s ON s.id = CAST(FLOOR(40000 * g.r1 * g.r1 * g.r1) AS INTEGER)
JOIN gen_devices d ON d.id = g.dev
JOIN gen_hours h ON h.cum_hi = (SELECT MIN(cum_hi) FROM gen_hours WHERE cum_hi >= g.r2)
"""
_SERIES = {
    # The random draws live in the recursive step, so every row gets its own (a plain
    # subquery is flattened into the join and SQLite may evaluate random() once per join).
    "sqlite": "WITH RECURSIVE n(i, r1, r2, dev, r3) AS (SELECT {start}, 0.5, 0.5, 0, 0 "
    "UNION ALL SELECT i + 1, (abs(random()) % 1000000) / 1000000.0, "
    "(abs(random()) % 1000000) / 1000000.0, abs(random()) % {devices}, abs(random()) FROM n "
    "WHERE i < {stop}) SELECT * FROM n",
    "postgres": "SELECT i, random() AS r1, random() AS r2, "
    "floor(random() * {devices})::int AS dev, floor(random() * 3600000000)::bigint AS r3 "
    "FROM generate_series({start}, {stop}) AS i",
}


def fill(store: EventStore, total: int, days: int) -> float:
    started = time.perf_counter()
    _helper_tables(store, total, days)
    ndevices = store._rows("SELECT COUNT(*) FROM gen_devices")[0][0]
    if store.dialect == "sqlite":
        # Bulk load: indexes are built once at the end.
        indexes = store._rows("SELECT name FROM sqlite_master WHERE type = 'index' "
                              "AND tbl_name = 'events' AND sql IS NOT NULL")  # fmt: skip
        for (index_name,) in indexes:
            store._connection.execute(f"DROP INDEX {index_name}")
        store._connection.execute("PRAGMA synchronous=OFF")
        offset = f"g.r3 % {HOUR_US}"
    else:
        offset = "g.r3"
        for index_name in ("events_at", "events_user_at", "events_address_at", "events_target",
                           "events_host_at"):  # fmt: skip
            store._connection.execute(f"DROP INDEX IF EXISTS {index_name}")
    chunk = 1_000_000
    for start in range(0, total, chunk):
        stop = min(start + chunk, total) - 1
        series = _SERIES[store.dialect].format(start=start, stop=stop, devices=ndevices)
        sql = _GENERATE.format(columns=", ".join(COLUMNS), offset=offset, series=series)
        with store._transaction() as cursor:
            cursor.execute(sql)
        print(f"  {stop + 1:,} events, {time.perf_counter() - started:.0f} s", flush=True)
    for statement in _SCHEMA:
        if statement.startswith("CREATE INDEX"):
            store._connection.execute(statement)
    if store.dialect == "sqlite":
        store._connection.execute("PRAGMA synchronous=NORMAL")
    loaded = time.perf_counter() - started
    store.rebuild_rollups()
    if store.dialect == "postgres":
        store._connection.execute("VACUUM ANALYZE events")
        store._connection.execute("VACUUM ANALYZE event_rollup")
    else:
        store._connection.execute("ANALYZE")
    print(f"filled {total:,} events in {loaded:.0f} s, rollups in "
          f"{time.perf_counter() - started - loaded:.0f} s", flush=True)  # fmt: skip
    return loaded


def django_client(events_url: str, var: Path):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="schoolgate.app.settings",
        SCHOOLGATE_VAR=str(var),
        SCHOOLGATE_EVENTS=events_url,
        SCHOOLGATE_SECURE_COOKIES="0",
        SCHOOLGATE_ALLOWED_HOSTS="testserver",
        SCHOOLGATE_SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        SCHOOLGATE_POLICY=str(REPO / "policies" / "st-thomas-more.yaml"),
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from schoolgate.app.people.models import User
    from schoolgate.app.people.signin import TWO_FACTOR_OK

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(
        username="bench-netman", defaults={"role": "network-manager", "totp_confirmed": True,
                                           "totp_secret": "BENCHBENCHBENCHBENCHBENCHBENCH23"},
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    session = client.session
    session[TWO_FACTOR_OK] = True
    session.save()
    return client


def views(store: EventStore) -> dict[str, str]:
    user = store._rows(
        "SELECT user_name FROM events WHERE user_name LIKE ? LIMIT 1", ("pupil-ks3-%",)
    )
    oldest = store._rows("SELECT MIN(at_us) FROM events")[0][0]
    deep = oldest + 10 * 24 * HOUR_US
    name = user[0][0] if user else "pupil-ks3-0001"
    return {
        "dashboard 24 h": "/console/?range=24h",
        "dashboard 7 days": "/console/?range=7d",
        "dashboard 30 days": "/console/?range=30d",
        "query log, latest": "/console/queries/",
        "query log, one pupil blocked": f"/console/queries/?user={name}&action=block",
        "query log, one device": "/console/queries/?address=10.20.1.15",
        "query log, one site": "/console/queries/?site=www.site00042.example",
        "query log, category": "/console/queries/?category=gambling",
        "query log, 20 days back": f"/console/queries/?action=block&page_before={deep}",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", required=True, help="sqlite:///path or postgresql://…/db")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20, help="per view per round")
    args = parser.parse_args()
    if args.store.startswith("postgresql://"):
        _create_database(args.store)
    store = EventStore.open(args.store)
    have = store._rows("SELECT COUNT(*) FROM events")[0][0]
    if have != args.events:
        store._connection.execute("DELETE FROM events")
        store._connection.execute("DELETE FROM event_rollup")
        fill(store, args.events, args.days)
    paths = views(store)
    store.close()
    var = Path(tempfile.mkdtemp(prefix="console-bench-"))
    client = django_client(args.store, var)
    times: dict[str, list[float]] = {name: [] for name in paths}
    per_round: dict[str, list[float]] = {name: [] for name in paths}
    cold: dict[str, float] = {}
    client.get("/console/why-blocked/")  # first use: the policy compiled for the health panel
    for name, path in paths.items():  # the first request of each view, before any cache
        started = time.perf_counter()
        assert client.get(path).status_code == 200, path
        cold[name] = (time.perf_counter() - started) * 1000
    for round_number in range(args.rounds):
        for name, path in paths.items():
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                response = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.status_code)
            times[name] += samples
            per_round[name].append(statistics.quantiles(samples, n=20)[18])
        print(f"round {round_number + 1} done, load {os.getloadavg()}", flush=True)
    print(f"\n{args.events:,} events, {args.store.split('://')[0]}, {args.rounds} rounds × "
          f"{args.requests} requests per view; load average {os.getloadavg()}")  # fmt: skip
    print("| view | first ms | min ms | p50 ms | p95 ms | max ms | p95 per round (ms) |")
    print("|---|---|---|---|---|---|---|")
    for name, samples in times.items():
        p95 = statistics.quantiles(samples, n=20)[18]
        rounds = " / ".join(f"{v:.0f}" for v in per_round[name])
        median = statistics.median(samples)
        print(f"| {name} | {cold[name]:.0f} | {min(samples):.0f} | {median:.0f} | "
              f"{p95:.0f} | {max(samples):.0f} | {rounds} |")  # fmt: skip
    return 0


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    raise SystemExit(main())
