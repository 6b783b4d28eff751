"""`flask ledger verify`: silent success on a sound ledger, exit 1 naming each broken invariant."""

import re
import subprocess
import uuid

import pytest
from sqlalchemy import text

from tapbank.extensions import db
from tests.scheduler.workers import FLASK, ROOT, worker_environment

FAILED_LINE = re.compile(r"^FAILED \((\d+) offending\)\s+invariant (\d): (.+)$")


@pytest.fixture
def ledger(factory):
    """A sound ledger: deposits, a settled tap, a failed tap and a lone half still waiting."""
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob", deposit=300)
    deposit = {"amount": 250, "memo": "top-up"}
    path = f"/api/v1/accounts/{bob.id}/deposits"
    assert factory.client.post(path, json=deposit, headers=factory.admin_headers).status_code == 201
    settled = factory.tap(ada, bob, 1250)
    assert settled.json["status"] == "settled"
    failed = factory.tap(bob, ada, 5000)
    assert failed.json["status"] == "failed"
    lone = uuid.uuid4()
    assert factory.send(lone, ada).json["status"] == "awaiting_receiver"
    db.session.rollback()
    return {
        "bob": bob.id,
        "settled": settled.json["key"],
        "failed": failed.json["key"],
        "lone": str(lone),
    }


@pytest.fixture
def entries_trigger(app):
    """Puts the entries trigger back as the migration made it, whatever a test did to it."""
    yield
    db.session.rollback()
    db.session.execute(text("ALTER TABLE entries ENABLE TRIGGER entries_append_only"))
    db.session.commit()


def run_sql(*statements: str, **params) -> None:
    for statement in statements:
        db.session.execute(text(statement), params)
    db.session.commit()


def verify(runner):
    db.session.rollback()  # the check runs in a snapshot of its own
    return runner.invoke(args=["ledger", "verify"])


def failed_invariants(output: str) -> list[tuple[int, str]]:
    """(number, statement) of every invariant the report says failed."""
    failed = []
    for line in output.splitlines():
        match = FAILED_LINE.match(line.strip())
        if match:
            assert int(match.group(1)) > 0
            failed.append((int(match.group(2)), match.group(3)))
    return failed


def test_a_sound_ledger_verifies(ledger, runner):
    result = verify(runner)

    assert result.exit_code == 0, result.output
    assert failed_invariants(result.output) == []
    lines = [line for line in result.output.splitlines() if re.search(r"invariant \d", line)]
    assert {int(re.search(r"invariant (\d)", line).group(1)) for line in lines} == {1, 2, 3, 4, 5}
    assert all(line.startswith("ok") for line in lines)
    assert "the ledger holds every invariant" in result.output


BREAKAGES = {
    "a-balance-set-wrong": (
        ["UPDATE accounts SET balance = balance + 1 WHERE id = :bob"],
        [(1, "sum of all balances"), (2, "every balance equals the sum")],
    ),
    "an-entry-amount-edited-behind-the-trigger": (
        [
            "ALTER TABLE entries DISABLE TRIGGER entries_append_only",
            "UPDATE entries SET amount = amount + 1 "
            "WHERE id = (SELECT max(id) FROM entries WHERE account_id = :bob)",
            "ALTER TABLE entries ENABLE TRIGGER entries_append_only",
        ],
        [(1, "entries that sum to zero"), (2, "every balance equals"), (2, "balance_after")],
    ),
    "a-balance-after-edited-behind-the-trigger": (
        [
            "ALTER TABLE entries DISABLE TRIGGER entries_append_only",
            "UPDATE entries SET balance_after = balance_after - 1 "
            "WHERE id = (SELECT min(id) FROM entries WHERE account_id = :bob)",
            "ALTER TABLE entries ENABLE TRIGGER entries_append_only",
        ],
        [(2, "balance_after")],
    ),
    "the-append-only-trigger-disabled": (
        ["ALTER TABLE entries DISABLE TRIGGER entries_append_only"],
        [(4, "append-only")],
    ),
    "the-append-only-trigger-firing-only-on-replicas": (
        ["ALTER TABLE entries ENABLE REPLICA TRIGGER entries_append_only"],
        [(4, "append-only")],
    ),
    "a-settled-tap-that-also-failed": (
        [
            "INSERT INTO failures (id, tap_key, reasons, message) "
            "VALUES (gen_random_uuid(), :settled, '{expired}', 'a second outcome')"
        ],
        [(3, "half")],
    ),
    "a-settled-tap-marked-failed-with-another-taps-failure": (
        [
            "UPDATE taps SET status = 'failed', transfer_id = NULL, "
            "failure_id = (SELECT failure_id FROM taps WHERE key = :failed) WHERE key = :settled"
        ],
        [(3, "half")],
    ),
    "a-settled-tap-naming-a-deposit-as-its-transfer": (
        [
            "UPDATE taps SET transfer_id = (SELECT id FROM transfers WHERE kind = 'deposit' "
            "LIMIT 1) WHERE key = :settled"
        ],
        [(3, "half")],
    ),
    "a-settled-tap-set-back-to-matched": (
        ["UPDATE taps SET status = 'matched', transfer_id = NULL WHERE key = :settled"],
        [(3, "half"), (5, "queued")],
    ),
    "a-settled-tap-queued-again": (
        ["INSERT INTO tap_queue (tap_key, created_at, matched_at) VALUES (:settled, now(), now())"],
        [(5, "queued")],
    ),
    "a-lone-half-taken-off-the-queue": (
        ["DELETE FROM tap_queue WHERE tap_key = :lone"],
        [(5, "queued")],
    ),
    "a-lone-half-queued-as-matched": (
        ["UPDATE tap_queue SET matched_at = now() WHERE tap_key = :lone"],
        [(5, "queued")],
    ),
    "a-half-left-pending-past-the-ttl": (
        ["UPDATE halves SET received_at = now() - interval '1 hour' WHERE tap_key = :lone"],
        [(5, "acknowledged half")],
    ),
}


@pytest.mark.parametrize(("statements", "broken"), BREAKAGES.values(), ids=BREAKAGES.keys())
@pytest.mark.usefixtures("entries_trigger")
def test_a_broken_invariant_fails_verification_naming_it(ledger, runner, statements, broken):
    assert verify(runner).exit_code == 0
    run_sql(*statements, **ledger)

    result = verify(runner)

    assert result.exit_code == 1, result.output
    failed = failed_invariants(result.output)
    assert len(failed) == len(broken), result.output
    for (number, statement), (expected_number, phrase) in zip(failed, broken, strict=True):
        assert number == expected_number and phrase in statement, result.output
    assert f"{len(broken)} invariant check(s) failed" in result.output


def test_the_replica_only_trigger_really_lets_an_entry_change(ledger, entries_trigger):
    # Why verification must treat a replica-only trigger as missing: it no longer refuses.
    run_sql("ALTER TABLE entries ENABLE REPLICA TRIGGER entries_append_only")
    changed = db.session.execute(text("UPDATE entries SET amount = amount WHERE id > 0"))
    assert changed.rowcount > 0
    db.session.rollback()


@pytest.mark.slow
def test_the_command_exits_0_then_1_as_a_real_process(ledger, database_url):
    command = [str(FLASK), "--app", "tapbank", "ledger", "verify"]
    env = worker_environment(database_url, "verify", {})

    def run() -> subprocess.CompletedProcess:
        db.session.rollback()
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    sound = run()
    assert sound.returncode == 0, sound.stdout + sound.stderr
    run_sql("UPDATE accounts SET balance = balance + 1 WHERE id = :bob", **ledger)
    broken = run()
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "2 invariant check(s) failed" in broken.stderr
    assert "FAILED (1 offending)  invariant 2: every balance equals" in broken.stdout
