"""Connecting as the owner role, for what the runtime role may not do: migrate, and the
development tools that rewrite history (the reset, and aging taps for the error injector)."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session


@contextmanager
def owner_engine() -> Iterator[Engine]:
    """An engine on TAPBANK_MIGRATION_DATABASE_URL with the app's engine options, disposed of
    after the block."""
    config = current_app.config
    engine = create_engine(
        config["TAPBANK_MIGRATION_DATABASE_URL"], **config["SQLALCHEMY_ENGINE_OPTIONS"]
    )
    # A migration may read a whole table (a concurrent index build): no statement limit. Its
    # lock waits stay short, so a migration that cannot get its lock fails fast and is retried,
    # rather than queueing every request behind it.
    event.listen(engine, "connect", _no_statement_timeout)
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def owner_session() -> Iterator[Session]:
    """A session as the owner role; the caller commits."""
    with owner_engine() as engine, Session(engine) as session:
        yield session


def _no_statement_timeout(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
    dbapi_connection.commit()
