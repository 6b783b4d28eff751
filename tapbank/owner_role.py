"""Connecting as the owner role, for what the runtime role may not do: migrate, and the
development tools that rewrite history (the reset, and aging taps for the error injector)."""

from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy import create_engine
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
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def owner_session() -> Iterator[Session]:
    """A session as the owner role; the caller commits."""
    with owner_engine() as engine, Session(engine) as session:
        yield session
