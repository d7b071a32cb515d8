"""Load test of the staff application: concurrent staff sessions on 100,000 cases.

Seeds a throwaway PostgreSQL database (`schoolgate_bench`, dropped and re-created) with pupils,
staff and 100,000 cases whose details and web addresses come from real data in ../shared/data
(Natural Questions queries, UT1 vpn/social_networks domains), serves the app with gunicorn on an
ephemeral 127.0.0.1 port, signs in N safeguarding leads (password + TOTP) and has each session
fetch the case list (random pages) and random case pages for a fixed time. Prints p50/p95/p99
per page kind and gunicorn's CPU per request.

    .venv/bin/python bench/app_load.py --cases 100000 --sessions 50 --seconds 30
    .venv/bin/python bench/app_load.py --seed-only            # seed once ...
    .venv/bin/python bench/app_load.py --reuse --think 5      # ... then measure repeatedly
    .venv/bin/python bench/app_load.py --reuse --profile 0    # queries and CPU per page
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
DB_NAME = "schoolgate_bench"
PASSWORD = "bench-password-2025"
TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH23"


def configure() -> None:
    policy = REPO / "policies" / "st-thomas-more.yaml"
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "schoolgate.app.settings",
            "SCHOOLGATE_DATABASE": "postgres",
            "SCHOOLGATE_DB_NAME": DB_NAME,
            "SCHOOLGATE_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnop",
            "SCHOOLGATE_SECURE_COOKIES": "0",
            "SCHOOLGATE_POLICY": str(policy if policy.exists() else REPO / "tests/app/policy.yaml"),
        }
    )


def recreate_database() -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB_NAME}")


def real_texts() -> tuple[list[str], list[str]]:
    lines = (SHARED / "queries-nq" / "NQ-open.dev.jsonl").read_text().splitlines()
    questions = [json.loads(line)["question"] for line in lines]
    domains: list[str] = []
    for folder in ("vpn", "social_networks", "proxy"):
        path = SHARED / "ut1" / folder / "domains"
        if path.exists():
            domains += path.read_text(errors="replace").split()[:20000]
    return questions, domains


def seed(cases: int, sessions: int) -> tuple[list[str], int]:
    import django
    import psycopg

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from schoolgate.app.cases.models import Case
    from schoolgate.app.people.models import User
    from schoolgate.app.policy import incident_choices

    call_command("migrate", verbosity=0)
    password = make_password(PASSWORD)
    leads = [
        User(
            username=f"lead{i}",
            first_name="Lead",
            last_name=str(i),
            role="dsl" if i % 2 else "deputy-dsl",
            password=password,
            totp_secret=TOTP_SECRET,
            totp_confirmed=True,
        )
        for i in range(sessions)
    ]
    teachers = [
        User(
            username=f"t{i}",
            first_name="Teacher",
            last_name=str(i),
            role="teacher",
            password=password,
        )
        for i in range(100)
    ]
    pupils = [
        User(
            username=f"p{i}",
            first_name="Pupil",
            last_name=str(i),
            role="pupil",
            year=str(7 + i % 7),
            registration_group=f"{7 + i % 7}{'ABCD'[i % 4]}",
            upn=f"A{i:011d}0",
        )
        for i in range(1500)
    ]
    User.objects.bulk_create(leads + teachers + pupils, batch_size=2000)
    teacher_ids = list(User.objects.filter(role="teacher").values_list("id", flat=True))
    pupil_rows = list(User.objects.filter(role="pupil").values_list("id", "year"))
    questions, domains = real_texts()
    types = [c.key for c in incident_choices()] or [""]
    statuses = ["reported", "triaged", "investigating", "action-taken", "closed", "closed"]
    rng = random.Random(2025)
    start = datetime(2024, 9, 1, tzinfo=UTC)
    through = Case.involved.through
    made = 0
    while made < cases:
        batch = []
        picks = []
        for _ in range(min(5000, cases - made)):
            pupil_id, year = rng.choice(pupil_rows)
            picks.append(pupil_id)
            question = rng.choice(questions)
            batch.append(
                Case(
                    reported_at=start + timedelta(minutes=rng.randrange(365 * 24 * 60)),
                    reporter_id=rng.choice(teacher_ids),
                    source="staff",
                    summary=question[:200],
                    details=f"Searched for: {question}",
                    url=f"https://{rng.choice(domains)}/" if domains else "",
                    room=f"IT{rng.randint(1, 4)}",
                    device=f"PC-{rng.randint(1, 30)}",
                    incident_type=rng.choice(types),
                    status=rng.choice(statuses),
                    year_group=year,
                )
            )
        created = Case.objects.bulk_create(batch)
        through.objects.bulk_create(
            [through(case_id=c.pk, user_id=p) for c, p in zip(created, picks, strict=True)]
        )
        made += len(batch)
    # What autovacuum does to a table that has settled: statistics and the visibility map.
    with psycopg.connect(f"host=127.0.0.1 user=postgres dbname={DB_NAME}", autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    return [u.username for u in leads], made


def reuse(cases: int, sessions: int) -> tuple[list[str], int] | None:
    """The leads and case count of an earlier run's database, migrated, or None to re-seed."""
    import django
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres") as c:
        found = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone()
    if not found:
        return None
    django.setup()
    from django.core.management import call_command

    from schoolgate.app.cases.models import Case
    from schoolgate.app.people.models import User

    call_command("migrate", verbosity=0)
    made = Case.objects.count()
    leads = [f"lead{i}" for i in range(sessions)]
    if made < cases or User.objects.filter(username__in=leads).count() < sessions:
        return None
    return leads, made


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            str(REPO / ".venv" / "bin" / "gunicorn"),
            "schoolgate.app.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        env=os.environ.copy(),
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("gunicorn did not start")


class Session:
    """One signed-in browser-like client: cookies, CSRF token, keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            from urllib.parse import urlencode

            body = urlencode(form | {"csrfmiddlewaretoken": self.cookies.get("csrftoken", "")})
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionError):  # keep-alive timed out
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, text

    def sign_in(self, username: str) -> None:
        import pyotp

        self.request("GET", "/login/")
        status, _ = self.request("POST", "/login/", {"username": username, "password": PASSWORD})
        assert status == 302, f"sign-in failed for {username}: {status}"
        status, _ = self.request("POST", "/two-factor/", {"code": pyotp.TOTP(TOTP_SECRET).now()})
        assert status == 302, f"TOTP failed for {username}: {status}"
        status, text = self.request("GET", "/cases/")
        assert status == 200 and "C-" in text, status


def sign_in_all(port: int, usernames: list[str]) -> list[Session]:
    sessions = []
    for name in usernames:
        session = Session(port)
        session.sign_in(name)
        sessions.append(session)
    return sessions


def run_load(
    sessions: list[Session], cases: int, seconds: float, think: float
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"list": [], "case": []}
    errors: list[str] = []
    lock = threading.Lock()
    pages = max(1, cases // 50)
    deadline = time.perf_counter() + seconds

    def work(session: Session, seed: int) -> None:
        rng = random.Random(seed)
        while time.perf_counter() < deadline:
            if think:  # a person reading the page before the next click
                time.sleep(rng.expovariate(1 / think))
            kind = "list" if rng.random() < 0.5 else "case"
            if kind == "list":
                page = 1 if rng.random() < 0.5 else rng.randint(1, pages)
                path = f"/cases/?page={page}"
            else:
                path = f"/cases/{rng.randint(1, cases)}/"
            began = time.perf_counter()
            status, _ = session.request("GET", path)
            took = time.perf_counter() - began
            with lock:
                (timings[kind] if status == 200 else errors).append(
                    took if status == 200 else f"{path} {status}"
                )

    threads = [threading.Thread(target=work, args=(s, i)) for i, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    timings["errors"] = errors  # type: ignore[assignment]
    return timings


def server_cpu_seconds(server: subprocess.Popen[bytes]) -> float:
    """User + system CPU of gunicorn's master and workers so far (from /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if server.pid in (pid, ppid):
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def profile_in_process(cases: int, requests: int, top: int) -> None:
    """Per-request queries and CPU of each page kind through Django's test client (no HTTP),
    then the `top` functions by cumulative time under cProfile."""
    import cProfile
    import pstats

    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from schoolgate.app.people.models import User
    from schoolgate.app.people.signin import TWO_FACTOR_OK

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(User.objects.get(username="lead1"))
    session = client.session
    session[TWO_FACTOR_OK] = True
    session.save()
    rng = random.Random(1)
    paths = {
        "list page 1": lambda: "/cases/",
        "list deep": lambda: f"/cases/?page={rng.randint(2, max(2, cases // 50))}",
        "case": lambda: f"/cases/{rng.randint(1, cases)}/",
        "report form": lambda: "/report/",
    }
    for kind, path in paths.items():
        connection.force_debug_cursor = True  # the query log is reset as each request starts
        assert client.get(path()).status_code == 200, kind
        queries = connection.queries
        connection.force_debug_cursor = False
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(requests):
            client.get(path())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"{kind:12} {len(queries):3} queries  wall {wall / requests * 1000:6.1f} ms  "
            f"CPU {cpu / requests * 1000:6.1f} ms"
        )
        if top:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                client.get(path())
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds each session waits between requests (0: none)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database of an earlier run if it has the cases (only migrate it)",
    )
    parser.add_argument("--seed-only", action="store_true", help="seed the database and stop")
    parser.add_argument(
        "--profile",
        type=int,
        metavar="TOP",
        help="no server: time each page kind in-process (and cProfile's TOP functions if > 0)",
    )
    args = parser.parse_args()
    configure()
    began = time.perf_counter()
    reused = reuse(args.cases, args.sessions) if args.reuse else None
    if reused is None:
        recreate_database()
        usernames, made = seed(args.cases, args.sessions)
        print(f"seeded {made} cases in {time.perf_counter() - began:.1f} s")
    else:
        usernames, made = reused
        print(f"reused {made} cases")
    if args.seed_only:
        return 0
    if args.profile is not None:
        profile_in_process(made, 40, args.profile)
        return 0
    port = free_port()
    server = start_server(port, args.workers, args.threads)
    try:
        sessions = sign_in_all(port, usernames)
        cpu_before = server_cpu_seconds(server)
        timings = run_load(sessions, made, args.seconds, args.think)
        cpu_used = server_cpu_seconds(server) - cpu_before
    finally:
        server.terminate()
        server.wait(10)
    errors = timings.pop("errors")
    total = sum(len(v) for v in timings.values())
    print(
        f"{args.sessions} sessions, {args.seconds:.0f} s, gunicorn {args.workers} workers x "
        f"{args.threads} threads, think {args.think} s, {os.cpu_count()} CPUs; {total} requests "
        f"({total / args.seconds:.0f}/s), {len(errors)} errors; gunicorn CPU "
        f"{cpu_used * 1000 / max(1, total):.1f} ms per request"
    )
    for kind, values in timings.items():
        print(
            f"{kind:5} n={len(values):6} p50={percentile(values, 50):6.1f} ms "
            f"p95={percentile(values, 95):6.1f} ms p99={percentile(values, 99):6.1f} ms "
            f"mean={statistics.fmean(values) * 1000:6.1f} ms"
        )
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
