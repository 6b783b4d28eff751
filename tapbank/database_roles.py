"""The two database roles: the owner, which migrates (and empties the ledger for the development
reset), and the runtime role the API and the workers connect as, which may add transfers but
never change one.

TAPBANK_MIGRATION_DATABASE_URL names the owner and DATABASE_URL the runtime role; with only
DATABASE_URL set, its one role is both. Migration 0011 grants the runtime role's privileges to
the group role tapbank_runtime, of which a deployment makes its runtime login a member. Without
DATABASE_URL, the embedded development server gets the same two roles (below).
"""

from pathlib import Path
from typing import NamedTuple

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from tapbank.embedded_postgres import embedded_database_url, normalise_database_url, server_lock

RUNTIME_GROUP = "tapbank_runtime"
# The embedded development server's database and login roles, as docker/compose.yaml names them.
# No passwords: the server listens only on a socket in its data directory (mode 700), where it
# trusts whoever reaches it; a password there would guard nothing.
DEVELOPMENT_DATABASE = "tapbank"
OWNER = "tapbank"
RUNTIME_LOGIN = "tapbank_app"


class DatabaseUrls(NamedTuple):
    """Where the runtime role connects, and where the owner does."""

    runtime: str
    owner: str


def database_urls(runtime: str | None, owner: str | None, instance_path: Path) -> DatabaseUrls:
    """The configured URLs (the owner's defaulting to the runtime one), or else the embedded
    development server's two roles under instance_path."""
    if runtime:
        return DatabaseUrls(
            normalise_database_url(runtime), normalise_database_url(owner or runtime)
        )
    return development_database_urls(instance_path / "postgres")


def development_database_urls(data_dir: Path) -> DatabaseUrls:
    """Start (or reuse) the embedded server on data_dir, with the development database and its
    roles made the first time; their URLs."""
    superuser_url = embedded_database_url(data_dir)
    if not _made(superuser_url):
        with server_lock(data_dir):  # two processes starting at once make them once
            _make_roles_and_database(superuser_url)
    return DatabaseUrls(_as(superuser_url, RUNTIME_LOGIN), _as(superuser_url, OWNER))


def _as(superuser_url: str, role: str) -> str:
    """The development database's URL as role, with no password (set() would keep one)."""
    server = make_url(superuser_url)
    url = URL.create(
        server.drivername,
        username=role,
        host=server.host,
        port=server.port,
        database=DEVELOPMENT_DATABASE,
        query=server.query,
    )
    return url.render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _made(superuser_url: str) -> bool:
    with psycopg.connect(_libpq(superuser_url), autocommit=True) as connection:
        return connection.execute(
            "SELECT (SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)) = 3 "
            "AND EXISTS (SELECT FROM pg_database WHERE datname = %s)",
            ([OWNER, RUNTIME_GROUP, RUNTIME_LOGIN], DEVELOPMENT_DATABASE),
        ).fetchone()[0]


def _make_roles_and_database(superuser_url: str) -> None:
    """The owner (no superuser, cannot make roles), the runtime group, a runtime login in it,
    and the database the owner owns: whichever of them is missing."""
    owner, group, login = (sql.Identifier(name) for name in (OWNER, RUNTIME_GROUP, RUNTIME_LOGIN))
    plain = sql.SQL("NOSUPERUSER NOCREATEDB NOCREATEROLE")
    making = {
        OWNER: [sql.SQL("CREATE ROLE {} LOGIN {}").format(owner, plain)],
        RUNTIME_GROUP: [sql.SQL("CREATE ROLE {} NOLOGIN {}").format(group, plain)],
        RUNTIME_LOGIN: [
            sql.SQL("CREATE ROLE {} LOGIN {}").format(login, plain),
            sql.SQL("GRANT {} TO {}").format(group, login),
        ],
    }
    with psycopg.connect(_libpq(superuser_url), autocommit=True) as connection:
        existing = (
            connection.execute(
                "SELECT array_agg(rolname::text) FROM pg_roles WHERE rolname = ANY(%s)",
                (list(making),),
            ).fetchone()[0]
            or []
        )
        for role, statements in making.items():
            if role in existing:
                continue
            for statement in statements:
                connection.execute(statement)
        if not connection.execute(
            "SELECT EXISTS (SELECT FROM pg_database WHERE datname = %s)", (DEVELOPMENT_DATABASE,)
        ).fetchone()[0]:
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(DEVELOPMENT_DATABASE), owner
                )
            )
