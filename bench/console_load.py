"""The network manager's console with millions of events: dashboard and query-log latency.

Fills event stores (a SQLite file, a PostgreSQL database) once with generated, realistic events
— a school's 30 days: ~1,000 devices (KS1 and KS2 pupils, staff signed in; visitors and
unidentified devices not), a skewed (Zipf-like) pick of 40,000 real domains from the UT1 lists in
../shared/data with their categories (some sites in two), blocks for pupils on blocked
categories, warnings for staff on downloads, searches, busy school hours and quiet nights and
weekends — and records in the store what it made, so later runs reuse it. Then requests the
real Django views in process (the test client, signed in as the network manager, every
query-log view audited as in production): the dashboard's three ranges and the query log
unfiltered and by user, device, site, category, action and time range — at 10:40 UTC on the
last school day in the data (the console's clock moved in this process only, so a re-run days
later measures a busy hour and full ranges again) — each store in turn
within each round (interleaved), and prints first / p50 / p95 / max per view and store, the
process CPU per request, SQLite's VM steps per request, and the load average. `--explain`
prints every statement each page ran with its plan (SQLite: EXPLAIN QUERY PLAN; PostgreSQL:
EXPLAIN ANALYZE BUFFERS, rows and pages actually read): the CPU-independent evidence.

    .venv/bin/python bench/console_load.py --events 10000000 --rounds 3 --requests 20 --explain \
        --store sqlite:////work/bench-data/console-10m.sqlite3 \
        --store postgresql://postgres@127.0.0.1:5432/sg_console_bench_10m

Building the stores is `--fill-only` with the same arguments (docs/benchmarks.md: how long).
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
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from schoolgate.events.store import (  # noqa: E402
    _SCHEMA,
    COLUMNS,
    HOUR_US,
    EventStore,
    to_micros,
)

FILLED = "bench:filled"  # a position: what fill() made, so a later run reuses the store

SHARED = REPO.parent / "shared" / "data"
# Category -> where its real domains come from (UT1 lists; adult sites from ShadowWhisperer
# while UT1's adult list is missing), and its share of the sites. None: uncategorised sites
# (real domains from lists the policy does not use).
SOURCES: dict[str | None, tuple[tuple[str, ...], int]] = {
    "news": (("ut1/press/domains",), 8),
    "education": (("ut1/liste_bu/domains", "ut1/educational_games/domains"), 10),
    "social-media": (("ut1/social_networks/domains",), 3),
    "games": (("ut1/games/domains",), 8),
    "streaming": (("ut1/audio-video/domains",), 6),
    "shopping": (("ut1/shopping/domains",), 10),
    "gambling": (("ut1/gambling/domains",), 3),
    "pornography": (("shadowwhisperer/Adult",), 3),
    "proxy": (("ut1/vpn/domains",), 2),
    "chat": (("ut1/chat/domains",), 1),
    "webmail": (("ut1/webmail/domains",), 1),
    "downloads": (("ut1/download/domains",), 4),
    None: (("ut1/sports/domains", "ut1/cooking/domains", "ut1/blog/domains",
            "ut1/forums/domains", "ut1/jobsearch/domains"), 41),
}  # fmt: skip
# The most visited sites, at the top of the skewed pick (search engines, the school's own).
TOP_SITES = [("www.google.com", "search"), ("www.bing.com", "search"),
             ("duckduckgo.com", "search"), ("www.youtube.com", "streaming"),
             ("www.bbc.co.uk", "news"), ("classroom.google.com", "education")]  # fmt: skip
# Second categories some sites carry (the query log's category filter matches any of them).
ALSO = {"games": "chat", "streaming": "social-media", "social-media": "chat"}
BLOCKED = {"gambling", "pornography", "proxy", "social-media", "games", "chat"}
GROUPS = [("pupil-ks1", 250), ("pupil-ks2", 450), ("staff", 150), ("community", 80),
          (None, 70)]  # fmt: skip
SITES = 40_000


def devices() -> list[tuple[str, str | None, str | None]]:
    """~1,000 devices: pupils and staff signed in, visitors and unidentified devices not."""
    out = []
    for group, count in GROUPS:
        for i in range(count):
            address = f"10.{20 + len(out) // 250}.{(len(out) % 250) // 50}.{len(out) % 50 + 10}"
            user = f"{group}-{i:04d}" if group not in {None, "community"} else None
            out.append((address, user, group))
    return out


def _domains(relative: str) -> list[str]:
    names = []
    for line in (SHARED / relative).read_text(errors="replace").splitlines():
        line = line.strip().split()[-1] if line.strip() else ""
        if line and not line.startswith("#") and "." in line and "/" not in line:
            names.append(line.lower())
    return names


def sites(rng: random.Random, count: int = SITES) -> list[tuple[str, list[str]]]:
    """`count` real domains with their categories, most visited first."""
    whole = sum(share for _, share in SOURCES.values())
    chosen: list[tuple[str, list[str]]] = []
    seen = {host for host, _ in TOP_SITES}
    for category, (files, share) in SOURCES.items():
        pool = sorted({d for f in files for d in _domains(f)} - seen)
        picked = rng.sample(pool, min(len(pool), count * share // whole))
        seen.update(picked)
        for host in picked:
            cats = [category] if category else []
            if category in ALSO and rng.random() < 0.2:
                cats.append(ALSO[category])
            chosen.append((host, cats))
    rng.shuffle(chosen)
    return [(host, [category]) for host, category in TOP_SITES] + chosen[: count - len(TOP_SITES)]


def hour_weight(moment: datetime) -> float:
    if moment.weekday() >= 5:
        return 0.05
    return 1.0 if 8 <= moment.hour < 16 else (0.15 if 7 <= moment.hour < 20 else 0.02)


def _helper_tables(store: EventStore, total: int, days: int) -> None:
    """Small tables the generating SQL draws from: sites, devices, and hours with cumulative
    weights (busy school hours, quiet nights and weekends), ending now."""
    rng = random.Random(13)
    people = devices()
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
                (i, host, cats[0] if cats else None, json.dumps(cats),
                 f"rule-{cats[0] if cats else 'default'}", int(bool(BLOCKED & set(cats))))
                for i, (host, cats) in enumerate(sites(rng))
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
JOIN gen_sites s ON s.id = CAST(FLOOR({sites} * g.r1 * g.r1 * g.r1) AS INTEGER)
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


def fill(store: EventStore, total: int, days: int) -> None:
    """Generate `total` events in SQL (indexes, the category table and the rollups are set
    aside and rebuilt once at the end), then ANALYZE."""
    started = time.perf_counter()
    _helper_tables(store, total, days)
    ndevices = store._rows("SELECT COUNT(*) FROM gen_devices")[0][0]
    nsites = store._rows("SELECT COUNT(*) FROM gen_sites")[0][0]
    run = store._connection.execute
    if store.dialect == "sqlite":
        indexes = store._rows("SELECT name FROM sqlite_master WHERE type = 'index' "
                              "AND tbl_name = 'events' AND sql IS NOT NULL")  # fmt: skip
        for pragma in ("synchronous=OFF", "cache_size=-2000000", "temp_store=MEMORY"):
            run(f"PRAGMA {pragma}")
        offset = f"g.r3 % {HOUR_US}"
    else:
        indexes = store._rows("SELECT indexname FROM pg_indexes WHERE tablename = 'events' "
                              "AND indexname <> 'events_pkey'")  # fmt: skip
        run("SET maintenance_work_mem = '1GB'")
        run("SET synchronous_commit = off")
        offset = "g.r3"
    for (index_name,) in indexes:
        run(f"DROP INDEX {index_name}")
    chunk = 1_000_000
    for start in range(0, total, chunk):
        stop = min(start + chunk, total) - 1
        series = _SERIES[store.dialect].format(start=start, stop=stop, devices=ndevices)
        sql = _GENERATE.format(columns=", ".join(COLUMNS), offset=offset, series=series,
                               sites=nsites)  # fmt: skip
        with store._transaction() as cursor:
            cursor.execute(sql)
        print(f"  {stop + 1:,} events, {time.perf_counter() - started:.0f} s", flush=True)
    loaded = time.perf_counter()
    for statement in _SCHEMA:
        if statement.startswith("CREATE INDEX"):
            run(statement)
    print(f"  indexes {time.perf_counter() - loaded:.0f} s", flush=True)
    store.rebuild_categories()
    print(f"  event_category {time.perf_counter() - loaded:.0f} s", flush=True)
    store.rebuild_rollups()
    print(f"  rollups {time.perf_counter() - loaded:.0f} s", flush=True)
    if store.dialect == "postgres":
        for table in ("events", "event_category", "event_rollup"):
            run(f"VACUUM ANALYZE {table}")
    else:
        run("PRAGMA synchronous=NORMAL")
        run("ANALYZE")
    store.set_position(FILLED, json.dumps({"events": total, "days": days,
                                           "at": datetime.now(UTC).isoformat()}))  # fmt: skip
    print(
        f"filled {total:,} events: generated in {loaded - started:.0f} s, indexes, categories, "
        f"rollups and statistics in {time.perf_counter() - loaded:.0f} s",
        flush=True,
    )


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
    """The pages measured: the dashboard's three ranges and the query log with each filter."""
    user = store._rows("SELECT user_name FROM gen_devices WHERE group_id = 'pupil-ks2' "
                       "ORDER BY id LIMIT 1")[0][0]  # fmt: skip
    address = store._rows("SELECT address FROM gen_devices ORDER BY id DESC LIMIT 1")[0][0]
    site = store._rows("SELECT host FROM gen_sites WHERE blocked = 1 ORDER BY id LIMIT 1")[0][0]
    newest = store._rows("SELECT MAX(at_us) FROM events")[0][0]
    ten_days = datetime.fromtimestamp(newest / 1e6, UTC) - timedelta(days=10)
    local = ten_days.astimezone(ZoneInfo("Europe/London")).replace(hour=10, minute=0, second=0)
    since, until = (f"{local:%Y-%m-%dT%H:%M}", f"{local + timedelta(hours=2):%Y-%m-%dT%H:%M}")
    deep = newest - 20 * 24 * HOUR_US
    return {
        "dashboard 24 h": "/console/?range=24h",
        "dashboard 7 days": "/console/?range=7d",
        "dashboard 30 days": "/console/?range=30d",
        "query log, latest": "/console/queries/",
        "query log, one user": f"/console/queries/?user={user}",
        "query log, one pupil's blocks": f"/console/queries/?user={user}&action=block",
        "query log, one device": f"/console/queries/?address={address}",
        "query log, one site": f"/console/queries/?site={site}",
        "query log, category": "/console/queries/?category=gambling",
        "query log, rare category": "/console/queries/?category=webmail",
        "query log, blocked": "/console/queries/?action=block",
        "query log, warned": "/console/queries/?action=warn",
        "query log, 2 h ten days ago": f"/console/queries/?since={since}&until={until}",
        "query log, blocked 20 days back": f"/console/queries/?action=block&page_before={deep}",
    }


def school_moment(store: EventStore) -> datetime:
    """When the views run: 10:40 UTC on the last school day in the data (the generator's busy
    hours are 08:00-16:00 UTC on weekdays), so the dashboard's current hour is a busy one and
    every range is full, whenever the bench is run again on a store built days before."""
    newest = datetime.fromtimestamp(store._rows("SELECT MAX(at_us) FROM events")[0][0] / 1e6, UTC)
    moment = newest.replace(hour=10, minute=40, second=0, microsecond=0)
    while moment > newest or moment.weekday() >= 5:
        moment -= timedelta(days=1)
    return moment


class Clock(datetime):
    """The console's clock in this process only: real time moved by `offset`, so time still
    passes between requests (the closed hours' cache, the current hour) as it would."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz=None):  # type: ignore[override]
        return datetime.now(tz) + cls.offset


class Recorder:
    """Wraps the store's one SQL path: the statements each page ran and, on SQLite, the
    virtual-machine steps they took (a CPU-independent measure of the work)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple]] = []
        self.steps = 0
        self.original = EventStore._rows

    def install(self) -> None:
        recorder = self

        def _rows(store: EventStore, sql: str, params=()):
            recorder.statements.append((store._sql(sql), tuple(params)))
            return recorder.original(store, sql, params)

        EventStore._rows = _rows  # type: ignore[method-assign]

    def watch(self, store: EventStore) -> None:
        if store.dialect == "sqlite":

            def tick() -> int:
                self.steps += 1000
                return 0

            store._connection.set_progress_handler(tick, 1000)


def explain(store: EventStore, statements: list[tuple[str, tuple]]) -> list[str]:
    """Each statement's plan: SQLite's EXPLAIN QUERY PLAN and VM steps; PostgreSQL's EXPLAIN
    (ANALYZE, BUFFERS) (rows examined, pages read)."""
    out = []
    seen = set()
    for sql, params in statements:
        if (sql, params) in seen or not sql.lstrip().upper().startswith("SELECT"):
            continue
        seen.add((sql, params))
        out.append("    " + " ".join(sql.split()) + f"  -- {', '.join(map(str, params))}")
        if store.dialect == "sqlite":
            plan = store._connection.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
            out += [f"      {row[-1]}" for row in plan]
            steps = [0]

            def tick(steps: list[int] = steps) -> int:
                steps[0] += 100
                return 0

            store._connection.set_progress_handler(tick, 100)
            found = len(store._connection.execute(sql, params).fetchall())
            store._connection.set_progress_handler(None, 0)
            out.append(f"      ({found} rows returned, about {steps[0]:,} VM steps)")
        else:
            try:
                rows = store._connection.execute(
                    "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params
                ).fetchall()
            except Exception as exc:
                rows = [(f"(not explained: {exc}; params {params})",)]
            out += [f"      {row[0]}" for row in rows]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", action="append", required=True,
                        help="sqlite:///path or postgresql://…/db; repeat to measure several "
                        "stores interleaved in one run")  # fmt: skip
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=10, help="per view per store per round")
    parser.add_argument("--fill-only", action="store_true", help="build the stores and stop")
    parser.add_argument("--explain", action="store_true",
                        help="print each page's statements with their query plans")  # fmt: skip
    args = parser.parse_args()
    paths: dict[str, dict[str, str]] = {}
    moments: dict[str, datetime] = {}
    for url in args.store:
        if url.startswith("postgresql://"):
            _create_database(url)
        store = EventStore.open(url)
        made = json.loads(store.position(FILLED) or "{}")
        if made.get("events") != args.events or made.get("days") != args.days:
            print(f"filling {url} with {args.events:,} events (once; later runs reuse it)")
            store._connection.execute("DELETE FROM events")
            store._connection.execute("DELETE FROM event_category")
            store._connection.execute("DELETE FROM event_rollup")
            fill(store, args.events, args.days)
        else:
            print(f"{url}: reusing {args.events:,} events made {made['at']}")
        paths[url] = views(store)
        moments[url] = school_moment(store)
        store.close()
    if args.fill_only:
        return 0
    from django.test import override_settings

    var = Path(tempfile.mkdtemp(prefix="console-bench-"))
    client = django_client(args.store[0], var)
    from schoolgate.app.console import events as console_events
    from schoolgate.app.console import views as console_views

    console_views.datetime = console_events.datetime = Clock  # type: ignore[misc]
    for url, moment in moments.items():
        print(f"{url.split('://')[0]}: the views run at {moment:%a %Y-%m-%d %H:%M} UTC")
    recorder = Recorder()
    recorder.install()

    names = list(paths[args.store[0]])
    wall: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    steps: dict[tuple[str, str], int] = {}
    statements: dict[tuple[str, str], list] = {}
    warm: dict[tuple[str, str], list] = {}
    per_round: dict[tuple[str, str], list[float]] = {}
    cold: dict[tuple[str, str], float] = {}
    loads = [os.getloadavg()]

    started_at = datetime.now(UTC)

    def get(url: str, name: str) -> tuple[float, float]:
        Clock.offset = moments[url] - started_at
        with override_settings(SCHOOLGATE_EVENTS=url):
            recorder.watch(console_events.store())
            started, cpu_started = time.perf_counter(), time.process_time()
            response = client.get(paths[url][name])
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, (paths[url][name], response.status_code)
        return elapsed, (time.process_time() - cpu_started) * 1000

    for url in args.store:  # first use: the policy compiled for the health panel
        with override_settings(SCHOOLGATE_EVENTS=url):
            client.get("/console/why-blocked/")
    for name in names:  # each page's first request (cold caches), and what it ran
        for url in args.store:
            recorder.statements, recorder.steps = [], 0
            cold[(url, name)] = get(url, name)[0]
            statements[(url, name)] = recorder.statements
            steps[(url, name)] = recorder.steps
    for round_number in range(args.rounds):
        for name in names:
            for url in args.store:
                key = (url, name)
                samples = []
                recorder.steps = 0
                for _ in range(args.requests):
                    recorder.statements = []
                    elapsed, used = get(url, name)
                    samples.append(elapsed)
                    cpu.setdefault(key, []).append(used)
                if round_number == 0:
                    steps[key] = recorder.steps // args.requests
                    warm[key] = recorder.statements  # what every request runs
                wall.setdefault(key, []).extend(samples)
                per_round.setdefault(key, []).append(_p95(samples))
        loads.append(os.getloadavg())
        print(f"round {round_number + 1} done, load average {os.getloadavg()}", flush=True)
    recorder.statements = []
    print(f"\n{args.events:,} events; {args.rounds} rounds × {args.requests} requests per view "
          f"per store, interleaved; load average (1, 5, 15 min) at the start "
          f"{_load(loads[0])}, after each round "
          f"{', '.join(_load(x) for x in loads[1:])}")  # fmt: skip
    print("| view | store | first ms | p50 ms | p95 ms | max ms | p95 per round (ms) | "
          "cpu p50 ms | SQLite VM steps |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for name in names:
        for url in args.store:
            key = (url, name)
            samples = wall[key]
            rounds = " / ".join(f"{v:.0f}" for v in per_round[key])
            dialect = "SQLite" if url.startswith("sqlite") else "PostgreSQL"
            vm = f"{steps[key]:,}" if dialect == "SQLite" else "–"
            print(f"| {name} | {dialect} | {cold[key]:.0f} | {statistics.median(samples):.0f} | "
                  f"{_p95(samples):.0f} | {max(samples):.0f} | {rounds} | "
                  f"{statistics.median(cpu[key]):.0f} | {vm} |")  # fmt: skip
    if args.explain:
        EventStore._rows = recorder.original  # type: ignore[method-assign]
        for url in args.store:
            store = EventStore.open(url)
            for name in names:
                print(f"\n{name} — {url.split('://')[0]}")
                print("  every request:")
                print("\n".join(explain(store, warm[(url, name)])))
                once = [s for s in statements[(url, name)] if s not in warm[(url, name)]]
                if once:
                    print(
                        "  first request only (opening the store; the closed hours or days, "
                        "kept ten minutes):"
                    )
                    print("\n".join(explain(store, once)))
            store.close()
    return 0


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


def _create_database(url: str) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    raise SystemExit(main())
