"""flask reconcile, flask scheduler status and every operator command's --help."""

import json
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text

from tapbank.devtools.injection import age_taps
from tapbank.extensions import db


@pytest.fixture
def deferred(factory_with):
    """A factory whose halves go through an API process that leaves matched pairs to the
    reconciler (TAPBANK_SETTLE_INLINE off)."""
    return factory_with(TAPBANK_SETTLE_INLINE=False)


@pytest.fixture
def backlog(deferred, factory):
    """Two matched pairs that will settle, one that will fail, and a lone half still in time."""
    ada, bob = factory.account("Ada", deposit=10_000), factory.account("Bob")
    keys = []
    for amount in (1_000, 2_500):
        answer = deferred.tap(ada, bob, amount)
        assert answer.json["status"] == "matched", answer.json
        keys.append(answer.json["key"])
    mismatched = uuid.uuid4()
    assert deferred.send(mismatched, ada, deferred.sender_body(700)).status_code == 201
    answer = deferred.receive(mismatched, bob, ada, deferred.receiver_body(ada, 701))
    assert answer.json["status"] == "matched"
    lone = uuid.uuid4()
    assert deferred.send(lone, ada).json["status"] == "awaiting_receiver"
    return {"ada": ada, "bob": bob, "settles": keys, "fails": str(mismatched), "lone": str(lone)}


def run(runner, *args: str):
    db.session.rollback()
    return runner.invoke(args=list(args))


def tap_status(client, admin_headers, key: str) -> str:
    return client.get(f"/api/v1/taps/{key}", headers=admin_headers).json["status"]


def test_reconcile_settles_matched_pairs_and_fails_mismatched_ones(
    runner, client, admin_headers, factory, backlog
):
    result = run(runner, "reconcile")

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "settled 2, failed 1, expired 0 in 1 batch(es)",
        "  failed for amount_mismatch: 1",
    ]
    assert [tap_status(client, admin_headers, key) for key in backlog["settles"]] == 2 * ["settled"]
    assert tap_status(client, admin_headers, backlog["fails"]) == "failed"
    assert tap_status(client, admin_headers, backlog["lone"]) == "awaiting_receiver"
    assert factory.balance(backlog["ada"]) == 10_000 - 3_500
    assert factory.balance(backlog["bob"]) == 3_500

    again = run(runner, "reconcile")

    assert again.output.splitlines() == ["settled 0, failed 0, expired 0 in 0 batch(es)"]
    assert factory.balance(backlog["bob"]) == 3_500


def test_reconcile_expires_a_lone_half_past_its_ttl(runner, client, admin_headers, app, backlog):
    ttl = timedelta(seconds=app.config["TAPBANK_TAP_TTL_SECONDS"] + 1)
    age_taps(db.session, [backlog["lone"]], ttl)

    result = run(runner, "reconcile")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("settled 2, failed 1, expired 1 in 1 batch(es)")
    assert tap_status(client, admin_headers, backlog["lone"]) == "failed"


def add_worker(heartbeat_age_s: int, last_error: str | None = None) -> uuid.UUID:
    """A worker row as a running worker writes it, with its reconcile job's last run."""
    worker_id = uuid.uuid4()
    db.session.execute(
        text(
            "INSERT INTO workers (id, hostname, pid, started_at, last_heartbeat_at, state) "
            "VALUES (:id, 'host-a', 4242, now() - interval '1 hour', "
            "now() - make_interval(secs => :age), 'running')"
        ),
        {"id": worker_id, "age": heartbeat_age_s},
    )
    db.session.execute(
        text(
            "INSERT INTO job_runs (worker_id, job_id, last_run_at, last_result, last_error) "
            "VALUES (:id, 'reconcile', now(), 'batches=0', :error)"
        ),
        {"id": worker_id, "error": last_error},
    )
    db.session.commit()
    return worker_id


def test_scheduler_status_prints_the_backlog_and_the_workers(runner, backlog):
    live, stale = add_worker(heartbeat_age_s=1), add_worker(heartbeat_age_s=3600)

    result = run(runner, "scheduler", "status")

    assert result.exit_code == 0, result.output
    assert "healthy: yes" in result.output
    assert re.search(rf"^worker {live} host-a pid 4242: running,", result.output, re.M)
    assert re.search(rf"^worker {stale} host-a pid 4242: dead,", result.output, re.M)
    assert re.search(
        r"^backlog: 3 matched \(oldest \d+\.\ds\), 1 awaiting a half$", result.output, re.M
    )

    run(runner, "reconcile")

    assert (
        "backlog: 0 matched (oldest 0.0s), 1 awaiting a half"
        in run(runner, "scheduler", "status").output
    )


def test_scheduler_status_without_a_live_reconciler_is_not_healthy(runner, backlog):
    add_worker(heartbeat_age_s=3600)
    add_worker(heartbeat_age_s=1, last_error="OperationalError: the database went away")

    result = run(runner, "scheduler", "status")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("healthy: no")


def test_scheduler_status_json_is_what_the_endpoint_says(runner, client, admin_headers, backlog):
    add_worker(heartbeat_age_s=1)

    result = run(runner, "scheduler", "status", "--json")

    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    served = client.get("/api/v1/scheduler", headers=admin_headers).json
    assert printed["healthy"] is served["healthy"] is True
    assert (printed["backlog"]["matched"], printed["backlog"]["awaiting"]) == (3, 1)
    assert {k: served["backlog"][k] for k in ("matched", "awaiting")} == {
        "matched": 3,
        "awaiting": 1,
    }
    assert [w["id"] for w in printed["workers"]] == [w["id"] for w in served["workers"]]


@pytest.mark.parametrize(
    ("command", "explained"),
    [
        (["reconcile"], "one reconcile pass now"),
        (["prune"], "past their retention"),
        (["ledger"], "Check the ledger"),
        (["ledger", "verify"], "Check every ledger invariant"),
        (["scheduler"], "reconciler workers"),
        (["scheduler", "run"], "until SIGTERM"),
        (["scheduler", "status"], "workers, jobs and the backlog"),
        (["accounts", "create"], "Open an account"),
        (["accounts", "deposit"], "Deposit AMOUNT"),
        (["accounts", "list"], "List customer accounts"),
    ],
)
def test_every_operator_command_explains_itself(runner, command, explained):
    result = run(runner, *command, "--help")

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Usage:")
    assert explained in " ".join(result.output.split())


def test_flask_help_lists_every_command_group_with_what_it_does(runner):
    result = run(runner, "--help")

    assert result.exit_code == 0, result.output
    listed = dict(
        re.findall(r"^  (\S+)\s+(.+)$", result.output.split("Commands:")[1], re.MULTILINE)
    )
    for name in ("accounts", "demo", "ledger", "prune", "reconcile", "scheduler", "tap"):
        assert listed.get(name), result.output
