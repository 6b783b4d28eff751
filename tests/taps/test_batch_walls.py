"""The two walls a batch stands behind, each broken on purpose in a real database.

A batch re-checks in SQL, as it ends its taps, that every row is still in the state it took
it in, and rolls back whole when one is not. An expiry pass takes its taps with SKIP LOCKED,
so a tap another transaction holds is passed over, not waited on. No test failed when either
wall was taken out (issue 13, item 10); these do, and reach the code only through
settle_batch and expire_lone_halves.
"""

import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import text

from tapbank.devtools.injection import age_taps
from tapbank.domain_errors import ConcurrentChange
from tapbank.extensions import db
from tapbank.ledger.verify import verify_ledger
from tapbank.taps.expiry import expire_lone_halves
from tapbank.taps.settlement import settle_batch
from tests.database import libpq_url
from tests.factories import Factory

TTL = timedelta(seconds=120)


@pytest.fixture
def deferred(factory_with) -> Factory:
    """A factory whose PUTs never settle: every pair waits for a batch."""
    return factory_with(TAPBANK_SETTLE_INLINE=False)


@pytest.fixture(autouse=True)
def ledger_holds(app):
    """After every test here, every invariant of the ledger holds."""
    yield
    db.session.rollback()
    checks = verify_ledger(db.session, ttl=TTL, interval=timedelta(seconds=1))
    db.session.rollback()
    assert [check.statement for check in checks if not check.holds] == []


def matched_pair(factory: Factory, payer, payee, amount: int, receiver: dict | None = None):
    """Both halves of a new tap, left matched; receiver changes the receiver's half."""
    key = uuid.uuid4()
    assert factory.send(key, payer, factory.sender_body(amount)).status_code == 201
    body = {**factory.receiver_body(payer, amount), **(receiver or {})}
    response = factory.receive(key, payee, payer, body)
    assert (response.status_code, response.json["status"]) == (201, "matched"), response.json
    return key


def read_tap(factory: Factory, key) -> dict:
    response = factory.client.get(f"/api/v1/taps/{key}", headers=factory.admin_headers)
    assert response.status_code == 200, response.json
    return response.json


# -- a batch whose rows changed under it ---------------------------------------------------------

SKIP_ONE_ROW = "tapbank_test_skip_one_row"
# The statements a batch ends its taps with, each made to pass over one row, as if that row
# had changed under the batch: (table, event, key column).
STATEMENTS = {
    "its tap not updated": ("taps", "UPDATE", "key"),
    "its queue entry not deleted": ("tap_queue", "DELETE", "tap_key"),
}


def skip_one_row(table: str, event: str, column: str, key) -> None:
    """In the session's transaction: make every `event` on table pass over the row of key."""
    connection = db.session.connection()
    connection.exec_driver_sql(
        f"CREATE FUNCTION {SKIP_ONE_ROW}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF to_jsonb(OLD) ->> TG_ARGV[0] = TG_ARGV[1] THEN RETURN NULL; END IF; "
        "IF TG_OP = 'DELETE' THEN RETURN OLD; END IF; RETURN NEW; END $$"
    )
    connection.exec_driver_sql(
        f"CREATE TRIGGER {SKIP_ONE_ROW} BEFORE {event} ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION {SKIP_ONE_ROW}('{column}', '{key}')"
    )


def remove_skipping(table: str) -> None:
    """Drop the trigger and its function, should a batch have committed them."""
    db.session.rollback()
    db.session.execute(text(f"DROP TRIGGER IF EXISTS {SKIP_ONE_ROW} ON {table}"))
    db.session.execute(text(f"DROP FUNCTION IF EXISTS {SKIP_ONE_ROW}()"))
    db.session.commit()


def written(keys: list) -> dict:
    """Everything a batch of these taps could write, as committed now."""
    db.session.rollback()
    facts = {
        "transfers": db.session.scalar(text("SELECT count(*) FROM transfers")),
        "entries": db.session.scalar(text("SELECT count(*) FROM entries")),
        "failures": db.session.scalar(text("SELECT count(*) FROM failures")),
        "balances": dict(db.session.execute(text("SELECT id, balance FROM accounts")).all()),
        "taps": {
            key: (str(status), transfer_id, failure_id, ended_at)
            for key, status, transfer_id, failure_id, ended_at in db.session.execute(
                text(
                    "SELECT key, status, transfer_id, failure_id, ended_at FROM taps "
                    "WHERE key = ANY(CAST(:keys AS uuid[]))"
                ),
                {"keys": [str(key) for key in keys]},
            )
        },
        "queued as matched": set(
            db.session.scalars(
                text(
                    "SELECT tap_key FROM tap_queue WHERE matched_at IS NOT NULL "
                    "AND tap_key = ANY(CAST(:keys AS uuid[]))"
                ),
                {"keys": [str(key) for key in keys]},
            )
        ),
        "triggers": db.session.scalar(
            text("SELECT count(*) FROM pg_trigger WHERE tgname = :name"), {"name": SKIP_ONE_ROW}
        ),
    }
    db.session.rollback()
    return facts


@pytest.mark.parametrize("changed", ["a settling pair", "a failing pair"])
@pytest.mark.parametrize("statement", list(STATEMENTS))
def test_a_batch_whose_rows_changed_under_it_rolls_back_whole_and_writes_nothing(
    deferred, statement, changed
):
    payer, payee, stranger = (
        deferred.account("Ada", deposit=10_000),
        deferred.account("Bob"),
        deferred.account("Cy", deposit=500),
    )
    # In arrival order: two pairs that settle, two that fail. The batch ends the settled taps
    # first, so a failing pair's row is found changed after the settled ones were ended.
    settles = matched_pair(deferred, payer, payee, 1250)
    fails = matched_pair(deferred, payer, payee, 1250, {"amount": 1200})
    settles_too = matched_pair(deferred, payer, payee, 2000)
    fails_too = matched_pair(deferred, payer, payee, 700, {"sender_account_id": stranger.id})
    keys = [settles, fails, settles_too, fails_too]
    before = written(keys)
    assert set(before["taps"]) == set(keys) and before["triggers"] == 0
    assert {fact[0] for fact in before["taps"].values()} == {"matched"}
    assert before["queued as matched"] == set(keys)
    table, event, column = STATEMENTS[statement]
    changed_key = settles_too if changed == "a settling pair" else fails_too

    raised = None
    try:
        skip_one_row(table, event, column, changed_key)
        try:
            settle_batch(db.session, limit=10, ttl=TTL)
            db.session.commit()  # what the workers do with a batch that returns
        except ConcurrentChange as error:
            raised = error
            db.session.rollback()
        after = written(keys)
    finally:
        remove_skipping(table)

    assert after == before
    assert isinstance(raised, ConcurrentChange), "the batch did not roll back"
    # Nothing was lost either: with its rows as it takes them, the next batch ends them all.
    result = settle_batch(db.session, limit=10, ttl=TTL)
    db.session.commit()
    assert (result.settled, result.failed) == (2, 2)
    assert [read_tap(deferred, key)["status"] for key in keys] == [
        "settled",
        "failed",
        "settled",
        "failed",
    ]
    assert [deferred.balance(account) for account in (payer, payee, stranger)] == [6750, 3250, 500]


# -- an expiry pass and a tap another transaction holds ------------------------------------------

HOLDING = {
    "its tap": "SELECT 1 FROM taps WHERE key = %s FOR UPDATE",
    "its queue entry": "SELECT 1 FROM tap_queue WHERE tap_key = %s FOR UPDATE",
}


@pytest.mark.parametrize("held_row", list(HOLDING))
def test_an_expiry_pass_passes_over_a_held_tap_and_expires_it_on_a_later_pass(
    deferred, database_url, held_row
):
    payer, payee = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
    senders_only = [uuid.uuid4() for _ in range(3)]
    for key in senders_only:
        assert deferred.send(key, payer).json["status"] == "awaiting_receiver"
    receiver_only = uuid.uuid4()
    assert deferred.receive(receiver_only, payee, payer).json["status"] == "awaiting_sender"
    held, *others = [*senders_only, receiver_only]  # the oldest is held
    age_taps(db.session, [held, *others], TTL + timedelta(minutes=1))

    with psycopg.connect(libpq_url(database_url)) as holder:
        assert holder.execute(HOLDING[held_row], (held,)).fetchall() == [(1,)]
        # Were the held tap waited on, the pass would fail here after 2 s, not hang.
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        started = time.monotonic()
        expired = expire_lone_halves(db.session, ttl=TTL, limit=10)
        db.session.commit()
        took = time.monotonic() - started
        holder.rollback()

    assert expired == len(others)
    assert took < 1.5
    for key in others:
        tap = read_tap(deferred, key)
        assert tap["status"] == "failed"
        assert tap["failure"]["reasons"] == [{"reason": "expired", "legacy_code": 500}]
    assert read_tap(deferred, held)["status"] == "awaiting_receiver"

    assert expire_lone_halves(db.session, ttl=TTL, limit=10) == 1
    db.session.commit()

    tap = read_tap(deferred, held)
    assert tap["status"] == "failed"
    assert tap["failure"]["reasons"] == [{"reason": "expired", "legacy_code": 500}]
    assert tap["sender"]["status"] == "failed" and tap["receiver"] is None
    assert [deferred.balance(account) for account in (payer, payee)] == [10_000, 0]
