"""No one pair and no held account stops the others: poison pairs and held accounts are set
aside, retried with a backoff, and shown to the operator; the inline attempt never waits long."""

import threading
import time
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import text

from tapbank.extensions import db
from tapbank.scheduler import jobs
from tapbank.taps.ending import HALFLESS
from tests.database import libpq_url
from tests.factories import Factory
from tests.taps.test_settlement import matched_pair, read_tap
from tests.triggers import trigger

# After every test here, every invariant of the ledger holds.
pytestmark = pytest.mark.usefixtures("ledger_holds")


@pytest.fixture
def deferred(factory_with) -> Factory:
    """PUTs that never settle, and workers whose lock waits end after half a second."""
    return factory_with(TAPBANK_SETTLE_INLINE=False, TAPBANK_DB_LOCK_TIMEOUT_MS=500)


def reconcile(factory: Factory) -> jobs.PassTotals:
    return jobs.in_app_context(factory.app, jobs.reconcile)


def scheduler_backlog(factory: Factory) -> dict:
    response = factory.client.get("/api/v1/scheduler", headers=factory.admin_headers)
    assert response.status_code == 200, response.json
    return response.json["backlog"]


def transfers_refused_for(tap_key):
    """A real trigger: the database refuses to write a transfer for this one tap."""
    return trigger(
        "transfers",
        "BEFORE INSERT",
        f"IF NEW.tap_key = '{tap_key}' THEN RAISE EXCEPTION 'this pair is poison'; END IF; "
        "RETURN NEW;",
    )


@contextmanager
def account_held(database_url, account):
    """Another transaction holds the account's row as a batch would, until the block ends."""
    with psycopg.connect(libpq_url(database_url)) as holder:
        holder.execute("SELECT 1 FROM accounts WHERE id = %s FOR NO KEY UPDATE", (account.id,))
        yield
        holder.rollback()


def due_now() -> None:
    """End every set-aside pair's backoff (as time passing would)."""
    db.session.execute(text("UPDATE tap_queue SET retry_at = now() WHERE retry_at IS NOT NULL"))
    db.session.commit()


def test_a_poison_pair_is_set_aside_and_the_rest_of_its_batch_settles(deferred):
    payer, payee = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
    keys = [matched_pair(deferred, payer, payee, amount=100) for _ in range(7)]
    poison = keys[3]

    with transfers_refused_for(poison):
        totals = reconcile(deferred)

        assert (totals.settled, totals.set_aside) == (6, 1)
        assert [read_tap(deferred, key)["status"] for key in keys] == ["settled"] * 3 + [
            "matched"
        ] + ["settled"] * 3
        set_aside = scheduler_backlog(deferred)["set_aside"]
        assert set_aside["count"] == 1
        assert "this pair is poison" in set_aside["last_error"]
        assert "SELECT" not in set_aside["last_error"] and "INSERT" not in set_aside["last_error"]
        # Not due yet: a run passes over it, and it holds up nothing.
        assert reconcile(deferred).set_aside == 0
        newer = matched_pair(deferred, payer, payee, amount=100)
        assert reconcile(deferred).settled == 1
        assert read_tap(deferred, newer)["status"] == "settled"
        # Due, and still poison: set aside again, for longer.
        due_now()
        assert reconcile(deferred).set_aside == 1
        assert db.session.scalar(text("SELECT attempts FROM tap_queue")) == 2

    due_now()
    assert reconcile(deferred).settled == 1
    assert read_tap(deferred, poison)["status"] == "settled"
    assert scheduler_backlog(deferred)["set_aside"]["count"] == 0
    assert (deferred.balance(payer), deferred.balance(payee)) == (10_000 - 800, 800)


def test_ledger_verify_warns_of_a_set_aside_pair_instead_of_failing(deferred, runner):
    payer, payee = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
    poison = matched_pair(deferred, payer, payee, amount=100)
    with transfers_refused_for(poison):
        assert reconcile(deferred).set_aside == 1
    # Older than the TTL and the interval: an acknowledged half no longer young enough.
    db.session.execute(
        text("UPDATE halves SET received_at = now() - interval '1 hour' WHERE tap_key = :key"),
        {"key": poison},
    )
    db.session.commit()

    result = runner.invoke(args=["ledger", "verify"])

    assert result.exit_code == 0, result.output
    assert "warning: 1 matched pair(s) set aside" in result.output
    assert "this pair is poison" in result.output
    due_now()
    reconcile(deferred)


def test_a_held_account_sets_its_pairs_aside_and_the_other_accounts_settle(deferred, database_url):
    ada, bob = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
    cy, dee = deferred.account("Cy", deposit=10_000), deferred.account("Dee")
    held_pairs = [matched_pair(deferred, ada, bob, amount=100) for _ in range(3)]
    free_pairs = [matched_pair(deferred, cy, dee, amount=100) for _ in range(3)]

    with account_held(database_url, bob):
        started = time.monotonic()
        totals = reconcile(deferred)
        assert time.monotonic() - started < 10  # bounded, not a timing: it did not wait it out

        assert (totals.settled, totals.set_aside) == (3, 3)
        assert {read_tap(deferred, key)["status"] for key in free_pairs} == {"settled"}
        assert {read_tap(deferred, key)["status"] for key in held_pairs} == {"matched"}
        assert scheduler_backlog(deferred)["set_aside"]["count"] == 3

    due_now()
    assert reconcile(deferred).settled == 3
    assert (deferred.balance(ada), deferred.balance(bob)) == (9_700, 300)
    assert scheduler_backlog(deferred)["set_aside"]["count"] == 0


def test_a_completing_put_whose_account_is_held_answers_matched_without_waiting(
    factory, database_url, caplog
):
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob")
    cy, dee = factory.account("Cy", deposit=10_000), factory.account("Dee")
    key = uuid.uuid4()
    assert factory.send(key, ada).status_code == 201
    answers = []

    with account_held(database_url, bob):
        putting = threading.Thread(target=lambda: answers.append(factory.receive(key, bob, ada)))
        putting.start()
        putting.join(timeout=10)
        assert not putting.is_alive(), "the PUT waited for the held account"
        # Other accounts' taps settle meanwhile.
        assert factory.tap(cy, dee, 100).json["status"] == "settled"

    assert (answers[0].status_code, answers[0].json["status"]) == (201, "matched")
    (deferral,) = [record for record in caplog.records if record.name == "tapbank.taps.settlement"]
    assert deferral.levelname == "WARNING" and deferral.exc_info  # with why: the lock timeout
    assert jobs.in_app_context(factory.app, jobs.reconcile).settled == 1
    assert (factory.balance(ada), factory.balance(bob)) == (8_750, 1_250)


def test_queue_entries_that_disagree_with_their_tap_are_mended_and_the_rest_settle(
    deferred, caplog
):
    payer, payee = deferred.account("Ada", deposit=10_000), deferred.account("Bob")
    ended = matched_pair(deferred, payer, payee, amount=100)
    assert reconcile(deferred).settled == 1
    lone, halfless = uuid.uuid4(), uuid.uuid4()
    assert deferred.send(lone, payer).status_code == 201
    assert deferred.send(halfless, payer).status_code == 201
    # Not states tapbank writes: an ended tap queued again, a lone half queued as matched and
    # a tap marked matched with one half, all as the oldest matches of all.
    db.session.execute(
        text(
            "INSERT INTO tap_queue (tap_key, created_at, matched_at) "
            "VALUES (:key, now() - interval '1 minute', now() - interval '1 minute')"
        ),
        {"key": ended},
    )
    db.session.execute(
        text(
            "UPDATE tap_queue SET matched_at = now() - interval '1 minute' "
            "WHERE tap_key IN (:lone, :halfless)"
        ),
        {"lone": lone, "halfless": halfless},
    )
    db.session.execute(
        text("UPDATE taps SET status = 'matched', matched_at = now() WHERE key = :key"),
        {"key": halfless},
    )
    db.session.commit()
    waiting = matched_pair(deferred, payer, payee, amount=200)

    with caplog.at_level("ERROR", logger="tapbank.taps.ending"):
        assert reconcile(deferred).settled == 1

    assert read_tap(deferred, waiting)["status"] == "settled"
    queue = {
        key: (matched_at is not None, attempts, last_error, retry_at is not None)
        for key, matched_at, attempts, last_error, retry_at in db.session.execute(
            text("SELECT tap_key, matched_at, attempts, last_error, retry_at FROM tap_queue")
        )
    }
    assert queue == {lone: (False, 0, None, False), halfless: (True, 1, HALFLESS, True)}
    set_aside_for = db.session.scalar(
        text("SELECT retry_at - set_aside_at FROM tap_queue WHERE tap_key = :key"),
        {"key": halfless},
    )
    assert set_aside_for.total_seconds() == 300
    assert read_tap(deferred, lone)["status"] == "awaiting_receiver"
    (mended,) = [record for record in caplog.records if record.name == "tapbank.taps.ending"]
    assert mended.args == (3, 1, 1, 1)
