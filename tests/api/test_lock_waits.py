"""No request waits long on another transaction's lock: it answers 503 busy and stores nothing."""

import time
import uuid

import psycopg
import pytest
from sqlalchemy import func, select

from tapbank.extensions import db
from tapbank.models import Half, Tap
from tests.api.test_errors import assert_error_shape
from tests.database import libpq_url

# Far above the one-second lock timeout, far below a wait without a bound.
GENEROUS_SECONDS = 10


@pytest.fixture
def payer(factory):
    return factory.account("Ada", deposit=10_000)


def held(database_url: str, sql: str, *params) -> psycopg.Connection:
    """Another connection that has taken these rows' locks and keeps them until rolled back."""
    holder = psycopg.connect(libpq_url(database_url))
    holder.execute(sql, params)
    return holder


def assert_busy(response, started: float) -> None:
    assert time.monotonic() - started < GENEROUS_SECONDS
    body = assert_error_shape(response, 503)
    assert body["error"] == "busy"
    assert body["request_id"]
    assert int(response.headers["Retry-After"]) >= 1


def stored(key: uuid.UUID) -> tuple[int, int]:
    """The tap rows and half rows for key, as the database holds them now."""
    taps = db.session.scalar(select(func.count()).select_from(Tap).where(Tap.key == key))
    halves = db.session.scalar(select(func.count()).select_from(Half).where(Half.tap_key == key))
    db.session.rollback()
    return taps, halves


def test_a_half_whose_account_row_is_held_is_busy_and_stores_nothing(factory, payer, database_url):
    # A new half's foreign-key check takes its account row FOR KEY SHARE, which FOR UPDATE
    # shuts out.
    key = uuid.uuid4()
    holder = held(database_url, "SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", payer.id)
    try:
        started = time.monotonic()
        assert_busy(factory.send(key, payer), started)
        assert stored(key) == (0, 0)
    finally:
        holder.close()

    assert factory.send(key, payer).status_code == 201
    assert stored(key) == (1, 1)


def test_a_replayed_half_whose_tap_row_is_held_is_busy(factory, payer, database_url):
    key = uuid.uuid4()
    body = factory.sender_body()
    assert factory.send(key, payer, body).status_code == 201
    holder = held(database_url, "SELECT 1 FROM taps WHERE key = %s FOR UPDATE", key)
    try:
        started = time.monotonic()
        assert_busy(factory.send(key, payer, body), started)
    finally:
        holder.close()

    assert factory.send(key, payer, body).status_code == 200
    assert stored(key) == (1, 1)


def test_every_session_has_the_configured_timeouts_and_isolation(apps):
    app = apps(
        TAPBANK_DB_LOCK_TIMEOUT_MS=1500,
        TAPBANK_DB_STATEMENT_TIMEOUT_MS=12_000,
        TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS=90_000,
    )
    with app.app_context():
        settings = {
            name: db.session.execute(select(func.current_setting(name))).scalar()
            for name in (
                "lock_timeout",
                "statement_timeout",
                "idle_in_transaction_session_timeout",
                "transaction_isolation",
            )
        }
        db.session.rollback()
        hidden = db.engine.hide_parameters

    assert settings == {
        "lock_timeout": "1500ms",
        "statement_timeout": "12s",
        "idle_in_transaction_session_timeout": "90s",
        "transaction_isolation": "read committed",
    }
    assert hidden, "SQL parameters (key digests among them) are never logged"
