"""Which database errors a client may retry, judged on errors a real server (or its absence)
raised, through SQLAlchemy and through the bare driver."""

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from tapbank.database_errors import Retryable, retryable, roll_back_quietly
from tapbank.extensions import db
from tests.database import libpq_url


def raised(action) -> BaseException:
    """The error action raised."""
    with pytest.raises(Exception) as caught:
        action()
    return caught.value


@pytest.fixture
def connect(database_url):
    """Open bare psycopg connections to the test database; all are closed afterwards."""
    opened = []

    def open_one(**options) -> psycopg.Connection:
        opened.append(psycopg.connect(libpq_url(database_url), **options))
        return opened[-1]

    yield open_one
    for connection in opened:
        connection.close()


@pytest.fixture
def no_server(tmp_path) -> str:
    """A URL whose socket directory no server listens in."""
    return f"postgresql+psycopg://postgres@/postgres?host={tmp_path}"


def test_no_server_to_connect_to_is_the_database_unavailable(no_server):
    bare = raised(lambda: psycopg.connect(libpq_url(no_server)))
    engine = create_engine(no_server)
    wrapped = raised(engine.connect)

    assert retryable(bare) is Retryable.DATABASE_UNAVAILABLE
    assert isinstance(wrapped, DBAPIError)
    assert retryable(wrapped) is Retryable.DATABASE_UNAVAILABLE


def test_a_session_the_server_ended_is_the_database_unavailable(connect):
    victim = connect(autocommit=True)
    pid = victim.info.backend_pid
    connect(autocommit=True).execute("SELECT pg_terminate_backend(%s)", (pid,))

    ended = raised(lambda: victim.execute("SELECT 1"))
    closed = raised(lambda: victim.execute("SELECT 1"))

    assert retryable(ended) is Retryable.DATABASE_UNAVAILABLE
    assert retryable(closed) is Retryable.DATABASE_UNAVAILABLE


def test_a_dropped_connection_under_sqlalchemy_is_the_database_unavailable(database_url, connect):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            connect(autocommit=True).execute("SELECT pg_terminate_backend(%s)", (pid,))
            error = raised(lambda: connection.execute(text("SELECT 1")))
    finally:
        engine.dispose()

    assert isinstance(error, DBAPIError) and error.connection_invalidated
    assert retryable(error) is Retryable.DATABASE_UNAVAILABLE


def test_a_lock_timeout_is_busy(connect):
    connect().execute("SELECT pg_advisory_xact_lock(4242)")  # held until the test ends
    waiter = connect()
    waiter.execute("SET lock_timeout = '50ms'")

    error = raised(lambda: waiter.execute("SELECT pg_advisory_xact_lock(4242)"))

    assert error.sqlstate == "55P03"
    assert retryable(error) is Retryable.BUSY


def test_a_statement_timeout_is_busy(database_url):
    engine = create_engine(database_url, connect_args={"options": "-c statement_timeout=50"})
    try:
        with engine.connect() as connection:
            error = raised(lambda: connection.execute(text("SELECT pg_sleep(5)")))
    finally:
        engine.dispose()

    assert error.orig.sqlstate == "57014"
    assert retryable(error) is Retryable.BUSY


def test_no_pooled_connection_in_time_is_busy(database_url):
    engine = create_engine(database_url, pool_size=1, max_overflow=0, pool_timeout=0.05)
    try:
        with engine.connect():
            error = raised(engine.connect)
    finally:
        engine.dispose()

    assert isinstance(error, PoolTimeout)
    assert retryable(error) is Retryable.BUSY


def test_a_refusal_or_a_bug_is_not_retryable(app, connect):
    twice = text(
        "INSERT INTO workers (id, hostname, pid, started_at, last_heartbeat_at, state) "
        "SELECT '00000000-0000-4000-8000-000000000001', 'h', 1, now(), now(), 'running' "
        "FROM generate_series(1, 2)"
    )
    refusal = raised(lambda: db.session.execute(twice))
    db.session.rollback()
    bug = raised(lambda: connect().execute("SELECT no_such_column FROM workers"))

    assert isinstance(refusal, IntegrityError)
    assert retryable(refusal) is None
    assert retryable(bug) is None
    assert retryable(ValueError("not the database")) is None


def test_rolling_back_a_dead_connection_is_quiet(app, connect):
    pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
    connect(autocommit=True).execute("SELECT pg_terminate_backend(%s)", (pid,))
    raw = db.session.connection().connection.driver_connection
    raised(lambda: raw.execute("SELECT 1"))  # the driver's own cursor: SQLAlchemy never saw it

    roll_back_quietly(db.session)

    assert db.session.execute(text("SELECT 1")).scalar() == 1
    db.session.rollback()
