"""A fresh PostgreSQL database per test on the server at 127.0.0.1:5432, dropped afterwards."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

PG_HOST = os.environ.get("SCHOOLGATE_DB_HOST", "127.0.0.1")
PG_PORT = os.environ.get("SCHOOLGATE_DB_PORT", "5432")
PG_USER = os.environ.get("SCHOOLGATE_DB_USER", "postgres")


def server_url(database: str) -> str:
    return f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


@contextmanager
def fresh_database(prefix: str = "test_sg_events") -> Iterator[str]:
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server_url(name)
    finally:
        with psycopg.connect(server_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
