"""Pooled connections are pinged only after sitting idle (tapbank/idle_ping.py): one that sat
idle is replaced when its server session is gone, one just used goes straight to its statement."""

import time

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from tapbank.extensions import db
from tapbank.idle_ping import PING_AFTER_IDLE_SECONDS, ping_when_idle
from tests.database import libpq_url


@pytest.fixture
def engine_pinging_after(database_url):
    """An engine of one pooled connection, pinging it after the idle time given."""
    engines = []

    def build(seconds: float):
        engine = create_engine(database_url, pool_size=1, max_overflow=0)
        ping_when_idle(engine, after_seconds=seconds)
        engines.append(engine)
        return engine

    yield build
    for engine in engines:
        engine.dispose()


def backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar()


def end_session(database_url: str, pid: int) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_a_connection_idle_past_the_time_is_pinged_and_replaced_when_gone(
    database_url, engine_pinging_after
):
    engine = engine_pinging_after(0.05)
    gone = backend_pid(engine)
    end_session(database_url, gone)
    time.sleep(0.1)

    assert backend_pid(engine) != gone  # no error: the ping found it gone, the pool reconnected


def test_a_connection_used_just_now_is_not_pinged(database_url, engine_pinging_after):
    engine = engine_pinging_after(60)
    end_session(database_url, backend_pid(engine))

    # The statement itself meets the ended session (a 503 for a request), and the pool is
    # invalidated, so the next checkout connects afresh.
    with pytest.raises(DBAPIError) as raised:
        backend_pid(engine)
    assert raised.value.connection_invalidated
    assert backend_pid(engine) > 0


def test_the_apps_connection_idle_past_the_time_is_replaced_when_gone(app, database_url):
    def session_pid() -> int:
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        db.session.remove()  # the connection goes back to the pool
        return pid

    gone = session_pid()
    end_session(database_url, gone)
    time.sleep(PING_AFTER_IDLE_SECONDS + 0.1)

    assert session_pid() != gone
