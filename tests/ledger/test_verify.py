"""`flask ledger verify`: silent success on a sound ledger, exit 1 naming each broken invariant."""

import re
import subprocess
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from tapbank.extensions import db
from tapbank.ledger.verify import verify_ledger
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
def transfer_triggers(app):
    """Puts the transfers' triggers back as the migration made them, whatever a test did."""
    yield
    db.session.rollback()
    for trigger in ("transfers_append_only", "transfers_never_truncated"):
        db.session.execute(text(f"ALTER TABLE transfers ENABLE TRIGGER {trigger}"))
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
        [
            (1, "sum of all balances"),
            (2, "credits minus its debits"),
            (2, "balance-after its latest transfer"),
        ],
    ),
    "a-transfer-amount-edited-behind-the-trigger": (
        [
            "ALTER TABLE transfers DISABLE TRIGGER transfers_append_only",
            "UPDATE transfers SET amount = amount + 1 WHERE ledger_seq = "
            "(SELECT max(ledger_seq) FROM transfers WHERE credit_account_id = :bob)",
            "ALTER TABLE transfers ENABLE TRIGGER transfers_append_only",
        ],
        [(2, "credits minus its debits"), (2, "chain without a gap")],
    ),
    "a-balance-after-edited-behind-the-trigger": (
        [
            "ALTER TABLE transfers DISABLE TRIGGER transfers_append_only",
            "UPDATE transfers SET credit_balance_after = credit_balance_after - 1"
            " WHERE ledger_seq ="
            " (SELECT min(ledger_seq) FROM transfers WHERE credit_account_id = :bob)",
            "ALTER TABLE transfers ENABLE TRIGGER transfers_append_only",
        ],
        [(2, "chain without a gap")],
    ),
    "a-customer-balance-after-below-zero-behind-the-trigger": (
        [
            "ALTER TABLE transfers DISABLE TRIGGER transfers_append_only",
            # Bob's opening deposit: left at -1, and the chain breaks at it and at the next.
            "UPDATE transfers SET credit_balance_after = -1 WHERE ledger_seq ="
            " (SELECT min(ledger_seq) FROM transfers WHERE credit_account_id = :bob)",
            "ALTER TABLE transfers ENABLE TRIGGER transfers_append_only",
        ],
        [(2, "chain without a gap"), (2, "below zero")],
    ),
    "the-append-only-trigger-disabled": (
        ["ALTER TABLE transfers DISABLE TRIGGER transfers_append_only"],
        [(4, "append-only")],
    ),
    "the-truncate-trigger-disabled": (
        ["ALTER TABLE transfers DISABLE TRIGGER transfers_never_truncated"],
        [(4, "append-only")],
    ),
    "the-append-only-trigger-firing-only-on-replicas": (
        ["ALTER TABLE transfers ENABLE REPLICA TRIGGER transfers_append_only"],
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
@pytest.mark.usefixtures("transfer_triggers")
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


def test_the_replica_only_trigger_really_lets_a_transfer_change(ledger, transfer_triggers):
    # Why verification must treat a replica-only trigger as missing: it no longer refuses.
    run_sql("ALTER TABLE transfers ENABLE REPLICA TRIGGER transfers_append_only")
    changed = db.session.execute(text("UPDATE transfers SET amount = amount"))
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
    assert "3 invariant check(s) failed" in broken.stderr
    assert "FAILED (1 offending)  invariant 2: every balance equals" in broken.stdout


def test_a_half_past_the_ttl_is_an_offender_only_once_a_reconciler_pass_has_had_its_turn(ledger):
    # The reconciler runs once an interval: a half just past the TTL waits for its next pass.
    ttl, interval = timedelta(seconds=120), timedelta(seconds=10)

    def acknowledged_but_unended(age_seconds: int) -> int:
        run_sql(
            "UPDATE halves SET received_at = now() - make_interval(secs => :age) "
            "WHERE tap_key = :lone",
            age=age_seconds,
            **ledger,
        )
        checks = verify_ledger(db.session, ttl=ttl, interval=interval)
        db.session.rollback()
        assert [check.statement for check in checks if not check.holds and check.number != 5] == []
        return sum(check.offenders for check in checks if check.number == 5)

    assert acknowledged_but_unended(125) == 0
    assert acknowledged_but_unended(135) == 1
