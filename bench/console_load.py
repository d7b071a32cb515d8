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
    return [(f"www.site{i:05d}.example", rng.choice(CATEGORIES)) for i in range(count)]


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


def fill(store: EventStore, total: int, days: int) -> float:
    started = time.perf_counter()
    rows = generate(total, days)
    batch: list[tuple] = []
    if store.dialect == "postgres":
        copy_sql = f"COPY events ({', '.join(COLUMNS)}) FROM STDIN"
        with store._lock, store._connection.cursor() as cursor, cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    else:
        insert = (
            f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        with store._transaction() as cursor:
            for row in rows:
                batch.append(row)
                if len(batch) == 100_000:
                    cursor.executemany(insert, batch)
                    batch = []
            cursor.executemany(insert, batch)
        for statement in _SCHEMA:
            if statement.startswith("CREATE INDEX"):
                store._connection.execute(statement)
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
    user = store._rows("SELECT user_name FROM events WHERE user_name LIKE 'pupil-ks3-%' LIMIT 1")
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
    print("| view | min ms | p50 ms | p95 ms | max ms | p95 per round (ms) |")
    print("|---|---|---|---|---|---|")
    for name, samples in times.items():
        p95 = statistics.quantiles(samples, n=20)[18]
        rounds = " / ".join(f"{v:.0f}" for v in per_round[name])
        print(f"| {name} | {min(samples):.0f} | {statistics.median(samples):.0f} | "
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
