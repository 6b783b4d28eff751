"""tapbank through a real PgBouncer (Debian's 1.18) in transaction pooling, configured by the
project's own docker/pgbouncer/pgbouncer.ini: taps settle, the sessions' timeouts hold, the
workers settle, and a held lock is still a 503 busy within the bound."""

import shutil
import tempfile
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from tapbank import create_app
from tapbank.database_options import pooler_connect_query
from tapbank.devtools.pgbouncer import PgBouncer
from tapbank.extensions import db
from tapbank.ledger.verify import verify_ledger
from tapbank.scheduler import jobs
from tests.conftest import make_config
from tests.database import libpq_url
from tests.factories import Factory

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pgbouncer(server_url, migrated_app):
    """A PgBouncer in front of the test server for this module's tests, stopped after them."""
    directory = Path(tempfile.mkdtemp(prefix="tapbank-pgbouncer-"))
    bouncer = PgBouncer(server_url, directory, pooler_connect_query(migrated_app.config))
    bouncer.start()
    yield bouncer
    bouncer.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="module")
def pooled_app(pgbouncer, database_url):
    """The app on the test database through PgBouncer, in the pooler mode."""
    database = make_url(database_url).database
    app = create_app(make_config(pgbouncer.url_for(database), TAPBANK_DB_POOLER="pgbouncer"))
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def pooled(app, pooled_app, admin_headers) -> Factory:
    """A factory whose every request goes through PgBouncer (tables cleared by `app`)."""
    return Factory(pooled_app, pooled_app.test_client(), admin_headers)


def test_pgbouncer_runs_with_the_projects_settings_in_force(pgbouncer):
    shown = pgbouncer.shown_config()
    assert shown["pool_mode"] == "transaction"
    assert (shown["query_wait_timeout"], shown["server_login_retry"]) == ("5", "1")
    assert shown["listen_port"] == str(pgbouncer.port)


def test_taps_from_many_threads_settle_through_pgbouncer(pooled):
    payers = [pooled.account(f"Payer {n}", deposit=100_000) for n in range(4)]
    payee = pooled.account("Merchant")
    answers, failures = [], []

    def tap_many(payer):
        try:
            for _ in range(10):  # more than psycopg's 5 runs before it would prepare
                answers.append(pooled.tap(payer, payee, 100).json["status"])
        except Exception as error:  # reported below, not lost in the thread
            failures.append(error)

    threads = [threading.Thread(target=tap_many, args=(payer,)) for payer in payers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    # Four payers paying one merchant contend for its row: a pair whose inline settlement could
    # not lock it at once answers matched, as the contract allows, and the reconciler settles it.
    assert len(answers) == 40 and set(answers) <= {"settled", "matched"}
    jobs.in_app_context(pooled.app, jobs.reconcile)
    assert pooled.balance(payee) == 4_000
    with pooled.app.app_context():
        statuses = db.session.scalars(text("SELECT status::text FROM taps")).all()
        db.session.rollback()
    assert statuses == ["settled"] * 40
    with pooled.app.app_context():
        checks = verify_ledger(
            db.session, ttl=timedelta(seconds=120), interval=timedelta(seconds=1)
        )
        db.session.rollback()
    assert [check.statement for check in checks if not check.holds] == []


def test_every_session_through_pgbouncer_has_tapbanks_timeouts(pooled_app):
    with pooled_app.app_context():
        shown = {
            name: db.session.scalar(text(f"SHOW {name}"))
            for name in ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")
        }
        db.session.rollback()
    assert shown == {
        "lock_timeout": "1s",
        "statement_timeout": "10s",
        "idle_in_transaction_session_timeout": "1min",
    }


def test_pgbouncer_refuses_the_startup_options_that_direct_connections_carry(
    pgbouncer, database_url
):
    database = make_url(database_url).database
    direct_mode = create_app(make_config(pgbouncer.url_for(database), TAPBANK_DB_POOLER="none"))
    try:
        with direct_mode.app_context(), pytest.raises(Exception, match="options"):
            db.session.execute(text("SELECT 1"))
    finally:
        with direct_mode.app_context():
            db.engine.dispose()


def test_the_workers_settle_through_pgbouncer(app, pooled_app, admin_headers):
    deferred_app = create_app(
        make_config(
            pooled_app.config["SQLALCHEMY_DATABASE_URI"],
            TAPBANK_DB_POOLER="pgbouncer",
            TAPBANK_SETTLE_INLINE=False,
        )
    )
    try:
        deferred = Factory(deferred_app, deferred_app.test_client(), admin_headers)
        payer, payee = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
        keys = [deferred.tap(payer, payee, 100).json["key"] for _ in range(6)]

        assert jobs.in_app_context(deferred_app, jobs.reconcile).settled == 6

        statuses = {
            deferred.client.get(f"/api/v1/taps/{key}", headers=payer.headers).json["status"]
            for key in keys
        }
        assert statuses == {"settled"}
    finally:
        with deferred_app.app_context():
            db.engine.dispose()


def test_a_held_account_is_503_busy_through_pgbouncer_and_stores_nothing(pooled, database_url):
    payer = pooled.account("Ada", deposit=10_000)
    key = uuid.uuid4()
    with psycopg.connect(libpq_url(database_url)) as holder:
        holder.execute("SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", (payer.id,))

        answer = pooled.send(key, payer)

        assert (answer.status_code, answer.json["error"]) == (503, "busy")
        assert answer.headers["Retry-After"] == "1"
        holder.rollback()
    assert pooled.send(key, payer).status_code == 201
