"""The prune job: idempotency keys and failed authentications past their retention are deleted,
batch by batch; everything younger stays."""

import time

import pytest
from sqlalchemy import text

from tapbank.extensions import db
from tapbank.models import JobId
from tapbank.scheduler import jobs
from tapbank.scheduler.worker import ReconcilerWorker

AN_HOUR = 3600
A_DAY = 24 * AN_HOUR


def add_idempotency_keys(**ages_seconds: float) -> None:
    """A committed record per key, made that many seconds ago."""
    for key, age in ages_seconds.items():
        db.session.execute(
            text(
                "INSERT INTO idempotency_keys (caller, method, path, key, request_digest, "
                "status_code, response_body, created_at) VALUES ('admin', 'POST', "
                "'/api/v1/accounts', :key, repeat('0', 64), 201, '{}', "
                "now() - make_interval(secs => :age))"
            ),
            {"key": key, "age": age},
        )
    db.session.commit()


def add_auth_failures(**ages_seconds: float) -> None:
    """A failed authentication per route name, that many seconds ago."""
    for route, age in ages_seconds.items():
        db.session.execute(
            text(
                "INSERT INTO auth_failures (occurred_at, client_address, client_network, method, "
                "route) VALUES (now() - make_interval(secs => :age), '203.0.113.7', "
                "'203.0.113.7', 'GET', :route)"
            ),
            {"route": route, "age": age},
        )
    db.session.commit()


def kept(table: str, column: str) -> set[str]:
    rows = set(db.session.scalars(text(f"SELECT {column} FROM {table}")))
    db.session.rollback()
    return rows


def kept_keys() -> set[str]:
    return kept("idempotency_keys", "key")


def kept_failures() -> set[str]:
    return kept("auth_failures", "route")


def test_prune_deletes_only_what_is_past_the_default_retention(runner):
    add_idempotency_keys(day_and_an_hour=A_DAY + AN_HOUR, almost_a_day=A_DAY - AN_HOUR, new=0)
    add_auth_failures(month_and_a_day=31 * A_DAY, almost_a_month=29 * A_DAY, new=0)

    result = runner.invoke(args=["prune"])

    assert result.exit_code == 0, result.output
    assert result.output == "deleted 1 idempotency key(s) and 1 failed authentication(s)\n"
    assert kept_keys() == {"almost_a_day", "new"}
    assert kept_failures() == {"almost_a_month", "new"}


def test_prune_keeps_what_the_configured_retention_keeps(app, apps):
    longer = apps(TAPBANK_IDEMPOTENCY_RETENTION_HOURS=48, TAPBANK_AUTH_FAILURE_RETENTION_DAYS=2)
    add_idempotency_keys(three_days=3 * A_DAY, day_and_an_hour=A_DAY + AN_HOUR)
    add_auth_failures(three_days=3 * A_DAY, a_day=A_DAY)

    with longer.app_context():
        try:
            totals = jobs.prune()
        finally:
            db.session.remove()

    assert (totals.idempotency_keys, totals.auth_failures) == (1, 1)
    assert kept_keys() == {"day_and_an_hour"}
    assert kept_failures() == {"a_day"}


def test_prune_deletes_batch_after_batch_until_none_are_left(app, monkeypatch):
    monkeypatch.setattr(jobs, "PRUNE_BATCH", 2)
    add_idempotency_keys(**{f"old_{n}": 2 * A_DAY for n in range(5)}, new=0)
    add_auth_failures(**{f"old_{n}": 40 * A_DAY for n in range(4)}, new=0)

    totals = jobs.prune()

    assert (totals.idempotency_keys, totals.auth_failures) == (5, 4)
    assert totals.summary() == "idempotency_keys=5 auth_failures=4"
    assert kept_keys() == {"new"}
    assert kept_failures() == {"new"}


def test_a_pruned_key_is_free_again(client, factory, admin_headers):
    ada = factory.account("Ada")
    headers = {**admin_headers, "Idempotency-Key": "monthly-top-up"}
    deposits = f"/api/v1/accounts/{ada.id}/deposits"
    assert client.post(deposits, json={"amount": 100}, headers=headers).status_code == 201
    replayed = client.post(deposits, json={"amount": 100}, headers=headers)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    db.session.execute(
        text("UPDATE idempotency_keys SET created_at = created_at - interval '25 hours'")
    )
    db.session.commit()

    assert jobs.prune().idempotency_keys == 1
    again = client.post(deposits, json={"amount": 100}, headers=headers)

    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again.headers
    assert factory.balance(ada) == 200


def wait_for_runs(worker_id, job_ids: set[str], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        recorded = set(
            db.session.scalars(
                text("SELECT job_id FROM job_runs WHERE worker_id = :id"), {"id": worker_id}
            )
        )
        db.session.rollback()
        if job_ids <= recorded:
            return
        time.sleep(0.05)
    pytest.fail(f"the worker recorded {recorded}, not every one of {job_ids}")


def test_a_worker_prunes_as_it_starts_and_the_status_lists_the_prune_job(
    app, client, admin_headers
):
    add_idempotency_keys(old=2 * A_DAY, new=0)
    add_auth_failures(old=40 * A_DAY, new=0)
    worker = ReconcilerWorker(app)
    worker.start()
    try:
        wait_for_runs(worker.id, {job.value for job in JobId})
    finally:
        worker.stop()

    assert kept_keys() == {"new"}
    assert kept_failures() == {"new"}
    status = client.get("/api/v1/scheduler", headers=admin_headers).json
    runs = {job["id"]: job for job in status["jobs"] if job["worker_id"] == str(worker.id)}
    assert set(runs) == {"reconcile", "expire", "heartbeat", "prune"}
    assert runs["prune"]["last_result"] == "idempotency_keys=1 auth_failures=1"
    assert runs["prune"]["last_error"] is None
