"""The test database: a fresh PostgreSQL database per test run, built by the real migrations."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tapbank.embedded_postgres import embedded_server, normalise_database_url

ROOT = Path(__file__).resolve().parent.parent

# Every table a test may write, emptied between tests (the funding account is restored).
TABLES = [
    "idempotency_keys",
    "job_runs",
    "workers",
    "tap_queue",
    "halves",
    "taps",
    "transfers",
    "failures",
    "auth_failures",
    "accounts",
]


@contextmanager
def server() -> Iterator[str]:
    """The server tests run against: TAPBANK_TEST_DATABASE_URL, or the embedded test server."""
    given = os.environ.get("TAPBANK_TEST_DATABASE_URL")
    if given:
        yield normalise_database_url(given)
        return
    with embedded_server(ROOT / "instance" / "test-postgres") as url:
        yield url


def create_database(url: str) -> str:
    """Create a uniquely named database on the server at url; return its URL."""
    name = f"tapbank_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    """Drop the database at url, ending any connection left open to it."""
    target = make_url(url)
    admin = target.set(database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(_libpq(admin), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def libpq_url(url: str) -> str:
    """The same URL for psycopg itself (no SQLAlchemy driver suffix)."""
    return _libpq(url)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
