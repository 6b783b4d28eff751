"""Reconciler workers as real processes racing over thousands of pairs, killed, and stopped."""

import json
import os
import random
import signal
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tapbank import create_app
from tapbank.devtools.backlog import seed_accounts, seed_matched_pairs
from tapbank.devtools.injection import age_taps
from tapbank.extensions import db
from tapbank.models import Account, Tap, TapStatus
from tapbank.taps.settlement import settle_batch
from tests.conftest import make_config
from tests.scheduler.workers import assert_running, running_workers, wait_for

FUNDS = 1_000_000
# What a batch runs once it has written its transfers, before it ends the taps and commits.
AFTER_THE_TRANSFERS = [
    "UPDATE accounts%",
    "UPDATE taps%",
    "DELETE FROM tap_queue%",
]

# The pause between two inline-style attempts of one racer (see settle_inline_style).
BETWEEN_PUTS_SECONDS = 0.02


def scalar(statement: str, **params):
    """One value, read in a transaction of its own (pg_stat_activity is cached per transaction)."""
    try:
        return db.session.execute(text(statement), params).scalar()
    finally:
        db.session.rollback()


def seed_ring(accounts: int, pairs: int, amount: int = 100) -> dict[uuid.UUID, int]:
    """Funded accounts each paying the next in a ring, pairs in all, committed; returns each
    account's balance once every pair has settled."""
    ids = seed_accounts(db.session, accounts, FUNDS)
    expected = dict.fromkeys(ids, FUNDS)
    seed_pairs(ids, ids[1:] + ids[:1], pairs, amount, expected)
    return expected


def seed_pairs(payers: list, payees: list, count: int, amount: int, expected: dict) -> None:
    """Matched pairs, the i-th from payers[i % len] to payees[i % len]; counts them in expected."""
    seed_matched_pairs(db.session, payers, payees, count, amount)
    db.session.commit()
    for i in range(count):
        expected[payers[i % len(payers)]] -= amount
        expected[payees[i % len(payees)]] += amount


def matched() -> int:
    return scalar("SELECT count(*) FROM taps WHERE status = 'matched'")


def settled() -> int:
    return scalar("SELECT count(*) FROM taps WHERE status = 'settled'")


def assert_nothing_half_done() -> None:
    """Every tap is wholly matched or wholly settled: its queue entry, halves and transfer
    agree, and the transfer recorded both balances-after."""
    offenders = scalar(
        """SELECT count(*) FROM taps t
           LEFT JOIN tap_queue q ON q.tap_key = t.key
           LEFT JOIN halves s ON s.tap_key = t.key AND s.side = 'sender'
           LEFT JOIN halves r ON r.tap_key = t.key AND r.side = 'receiver'
           LEFT JOIN transfers x ON x.tap_key = t.key
           WHERE NOT (
             (t.status = 'matched' AND t.transfer_id IS NULL AND x.id IS NULL
              AND q.matched_at IS NOT NULL)
             OR (t.status = 'settled' AND x.id = t.transfer_id AND q.tap_key IS NULL
                 AND x.debit_account_id = s.account_id AND x.credit_account_id = r.account_id
                 AND x.amount = s.amount
                 AND x.debit_balance_after IS NOT NULL AND x.credit_balance_after IS NOT NULL))"""
    )
    assert offenders == 0
    assert scalar("SELECT count(*) FROM transfers WHERE kind = 'tap'") == settled()
    assert scalar("SELECT count(*) FROM failures") == 0


def assert_each_settled_exactly_once(pairs: int, expected: dict) -> None:
    """All pairs settled, one transfer per tap key, and every balance is what they add up to."""
    assert settled() == pairs
    assert scalar("SELECT count(DISTINCT tap_key) FROM transfers WHERE kind = 'tap'") == pairs
    assert_nothing_half_done()
    balances = db.session.execute(
        select(Account.id, Account.balance).where(Account.id.in_(expected))
    )
    assert dict(balances.all()) == expected
    db.session.rollback()


def assert_ledger_verifies(runner) -> None:
    db.session.rollback()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def batch_statement(name: str, patterns: list[str] | None = None) -> str | None:
    """What the named worker runs while a reconcile batch holds taps it took, if it does now."""
    return scalar(
        "SELECT query FROM pg_stat_activity WHERE application_name = :name "
        "AND backend_xid IS NOT NULL AND query NOT ILIKE '%workers%' "
        "AND query NOT ILIKE '%job_runs%' AND query ILIKE ANY (CAST(:patterns AS text[]))",
        name=name,
        patterns=patterns or ["%"],
    )


def errors_logged(output: str) -> list[str]:
    """The error lines in a worker's JSON log."""
    errors = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("level") in ("error", "critical"):
            errors.append(line)
    return errors


def settle_inline_style(app, keys: list, until: threading.Event, taken: list, failures: list):
    """What settle_inline runs for a pair a PUT just matched, for each key in turn until told to
    stop: a batch of that one key, committed. (A PUT runs it behind a savepoint in the half's
    own transaction; here the pairs are matched already, so it runs alone.) A short pause between
    keys stands for the time between two PUTs, so the attempts are still going when the workers
    arrive, however fast this machine is."""
    ttl = timedelta(seconds=app.config["TAPBANK_TAP_TTL_SECONDS"])
    with app.app_context():
        try:
            for key in keys:
                if until.is_set():
                    return
                try:
                    taken.append(settle_batch(db.session, limit=1, ttl=ttl, keys=[key]).taken)
                    db.session.commit()
                except DBAPIError as error:
                    db.session.rollback()
                    failures.append(error)
                time.sleep(BETWEEN_PUTS_SECONDS)
        except Exception as error:  # reported by the test, not lost in the thread
            failures.append(error)
        finally:
            db.session.remove()


@pytest.mark.slow
def test_three_workers_and_inline_attempts_settle_thousands_of_pairs_each_exactly_once(
    app, database_url, runner
):
    expected = seed_ring(50, 1500, amount=100)
    ids = list(expected)
    seed_pairs(ids[:25], ids[25:], 1500, 7, expected)  # one way, so balances really move
    oldest_first = db.session.scalars(
        select(Tap.key).where(Tap.status == TapStatus.MATCHED).order_by(Tap.matched_at, Tap.key)
    ).all()
    db.session.rollback()
    assert len(oldest_first) == 3000
    shuffled = random.sample(oldest_first, len(oldest_first))
    # One racer goes the workers' way, one the other way, one at random: all over the same rows.
    orders = [oldest_first, oldest_first[::-1], shuffled]

    names = ["racer-a", "racer-b", "racer-c"]
    settings = {"TAPBANK_RECONCILE_BATCH": 200, "TAPBANK_RECONCILE_INTERVAL_MS": 100}
    drained, taken, failures = threading.Event(), [], []
    threads = [
        threading.Thread(target=settle_inline_style, args=(app, keys, drained, taken, failures))
        for keys in orders
    ]
    # The inline attempts are under way before the workers start, so both sides always settle
    # some: which side a pair goes to is the race under test, not whether there is one.
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: sum(taken) > 0, timeout=30, what="the inline attempts to settle")
        with running_workers(database_url, names, **settings) as workers:
            wait_for(
                lambda: (
                    assert_running(workers)
                    or scalar("SELECT count(*) FROM workers WHERE state = 'running'") == 3
                ),
                timeout=30,
                what="three workers to register",
            )
            wait_for(lambda: assert_running(workers) or matched() == 0, 60, "the backlog to drain")
            drained.set()
            for thread in threads:
                thread.join(timeout=30)
            assert failures == []
            inline = sum(taken)
            assert 0 < inline < 3000, "both the workers and the inline attempts must have settled"
            for worker in workers:
                os.kill(worker.pid, signal.SIGTERM)
            for worker in workers:
                assert worker.wait() == 0, worker.output()
                assert errors_logged(worker.output()) == []
    finally:
        drained.set()
        for thread in threads:
            thread.join(timeout=30)

    assert_each_settled_exactly_once(3000, expected)
    assert_ledger_verifies(runner)


@pytest.mark.slow
def test_a_worker_killed_mid_batch_leaves_nothing_half_done_and_another_finishes(
    app, database_url, runner
):
    expected = seed_ring(50, 10_000)
    settings = {"TAPBANK_RECONCILE_BATCH": 5000, "TAPBANK_RECONCILE_INTERVAL_MS": 100}

    with running_workers(database_url, ["doomed"], **settings) as (doomed,):
        writing = wait_for(
            lambda: assert_running([doomed]) or batch_statement("doomed", AFTER_THE_TRANSFERS),
            timeout=40,
            what="the worker to be half way through writing a batch",
            poll=0.01,
        )
        assert doomed.kill() == -9, writing
    wait_for(
        lambda: (
            scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'doomed'") == 0
        ),
        timeout=20,
        what="the killed worker's sessions to end",
    )

    left = matched()
    assert settled() % 5000 == 0, f"a batch was half committed (killed in {writing[:40]!r})"
    assert left >= 5000, "the batch being written when the worker died must not have committed"
    assert settled() + left == 10_000
    assert_nothing_half_done()
    assert_ledger_verifies(runner)

    with running_workers(database_url, ["heir"], **settings) as (heir,):
        wait_for(lambda: assert_running([heir]) or matched() == 0, 60, "the heir to finish")
        assert heir.terminate() == 0, heir.output()

    assert_each_settled_exactly_once(10_000, expected)
    assert_ledger_verifies(runner)


@pytest.mark.slow
def test_sigterm_lets_the_running_batch_finish_then_the_worker_exits_cleanly(
    app, database_url, runner
):
    seed_ring(20, 6000)
    settings = {"TAPBANK_RECONCILE_BATCH": 2000, "TAPBANK_RECONCILE_INTERVAL_MS": 100}

    with running_workers(database_url, ["polite"], **settings) as (polite,):
        wait_for(
            lambda: assert_running([polite]) or batch_statement("polite"),
            timeout=40,
            what="the worker to take a batch",
            poll=0.01,
        )
        assert polite.terminate() == 0, polite.output()
        output = polite.output()

    state = scalar("SELECT state FROM workers WHERE pid = :pid", pid=polite.pid)
    assert state == "stopped"
    assert "stopped" in output
    assert errors_logged(output) == []
    done = settled()
    assert done % 2000 == 0 and 2000 <= done < 6000, f"{done} settled"
    assert matched() == 6000 - done
    assert_nothing_half_done()
    assert_ledger_verifies(runner)


@pytest.fixture
def status_client(app, database_url):
    """A client of an API process that calls a worker dead after 3 s without a heartbeat."""
    api = create_app(make_config(database_url, TAPBANK_WORKER_STALE_SECONDS=3))
    yield api.test_client()
    with api.app_context():
        db.engine.dispose()


def scheduler_status(client, admin_headers) -> dict:
    response = client.get("/api/v1/scheduler", headers=admin_headers)
    assert response.status_code == 200, response.json
    return response.json


def states(status: dict) -> dict[int, str]:
    return {worker["pid"]: worker["state"] for worker in status["workers"]}


@pytest.mark.slow
def test_the_status_shows_live_workers_running_a_killed_one_dead_and_the_backlog(
    app, database_url, client, factory, status_client, admin_headers
):
    seed_ring(10, 300)
    age_taps(db.session, db.session.scalars(select(Tap.key)).all(), timedelta(seconds=30))
    payer = factory.account("Ada", deposit=1000)
    for _ in range(2):
        assert factory.send(uuid.uuid4(), payer).json["status"] == "awaiting_receiver"

    before = scheduler_status(status_client, admin_headers)
    assert before["healthy"] is False and before["workers"] == []
    assert (before["backlog"]["matched"], before["backlog"]["awaiting"]) == (300, 2)
    assert 30 <= before["backlog"]["oldest_matched_age_s"] < 300

    settings = {"TAPBANK_RECONCILE_BATCH": 100, "TAPBANK_RECONCILE_INTERVAL_MS": 100}
    with running_workers(database_url, ["alive", "doomed"], **settings) as (alive, doomed):

        def status_when(wanted: dict[int, str], drained: bool = False) -> dict | None:
            status = scheduler_status(status_client, admin_headers)
            # Drained is also reported: a reconcile run is recorded when it ends, which may be a
            # moment after the pairs it settled are visible.
            reported = status["healthy"] and status["backlog"]["matched"] == 0
            if states(status) == wanted and (not drained or reported):
                return status
            return None

        both_running = wait_for(
            lambda: (
                assert_running([alive, doomed])
                or status_when({alive.pid: "running", doomed.pid: "running"}, drained=True)
            ),
            timeout=30,
            what="both workers to run, drain the backlog and report a healthy run",
        )
        assert both_running["healthy"] is True
        assert both_running["backlog"] == {
            "matched": 0,
            "awaiting": 2,
            "oldest_matched_age_s": 0,
            "set_aside": {"count": 0, "oldest_age_s": 0, "last_error": None},
        }
        reconcile_runs = [job for job in both_running["jobs"] if job["id"] == "reconcile"]
        assert reconcile_runs and all(job["last_error"] is None for job in reconcile_runs)

        assert doomed.kill() == -9
        one_dead = wait_for(
            lambda: status_when({alive.pid: "running", doomed.pid: "dead"}),
            timeout=15,
            what="the killed worker to be reported dead while the other runs",
        )
        assert one_dead["healthy"] is True
        heartbeat = next(w for w in one_dead["workers"] if w["pid"] == doomed.pid)
        silent = datetime.now(UTC) - datetime.fromisoformat(heartbeat["last_heartbeat_at"])
        assert silent > timedelta(seconds=3), "a worker is dead only once its heartbeat is stale"

        assert alive.terminate() == 0, alive.output()

    after = scheduler_status(status_client, admin_headers)
    assert states(after) == {alive.pid: "stopped", doomed.pid: "dead"}
    assert after["healthy"] is False


def add_old_and_recent_workers() -> None:
    db.session.execute(
        text(
            "INSERT INTO workers (id, hostname, pid, started_at, last_heartbeat_at, state) VALUES "
            "(gen_random_uuid(), 'old', 1, now() - interval '3 days', now() - interval '2 days',"
            " 'running'), "
            "(gen_random_uuid(), 'recent', 2, now() - interval '1 hour', now() - interval '1 hour',"
            " 'stopped')"
        )
    )
    db.session.commit()


def worker_hosts() -> set[str]:
    return set(db.session.scalars(text("SELECT hostname FROM workers")))


def test_a_starting_worker_forgets_workers_silent_for_a_day(app):
    from tapbank.scheduler.worker import ReconcilerWorker

    add_old_and_recent_workers()
    worker = ReconcilerWorker(app)
    worker.start()
    worker.stop()
    assert "old" not in worker_hosts()
    assert "recent" in worker_hosts()


def test_a_heartbeat_forgets_silent_workers_and_gauges_the_backlog_and_the_pairs_set_aside(
    app, factory_with, admin_headers
):
    from tapbank.scheduler.runner import JobRunner

    deferred = factory_with(TAPBANK_SETTLE_INLINE=False)
    payer, payee = deferred.account("Ada", deposit=5_000), deferred.account("Bob")
    for _ in range(2):
        assert deferred.tap(payer, payee).json["status"] == "matched"
    deferred.send(uuid.uuid4(), payer)
    add_old_and_recent_workers()
    db.session.execute(
        text(
            "UPDATE tap_queue SET retry_at = now() + interval '1 minute' WHERE tap_key = "
            "(SELECT tap_key FROM tap_queue WHERE matched_at IS NOT NULL LIMIT 1)"
        )
    )
    db.session.commit()

    JobRunner(app).beat()

    assert REGISTRY.get_sample_value("tapbank_backlog_matched") == 2
    assert REGISTRY.get_sample_value("tapbank_set_aside_pairs") == 1
    assert "old" not in worker_hosts()
    assert "recent" in worker_hosts()
