"""A real worker process outlives a real outage of its database: it pauses, reconnects, records
the outage in its jobs' results, and beats again, without ever exiting."""

import time

import psycopg
import pytest

from tests.scheduler.workers import assert_running, running_workers, wait_for

pytestmark = pytest.mark.slow

OUTAGE_SECONDS = 2
# A restarted server takes a moment to accept connections; the bound is generous on purpose.
RECOVERY_SECONDS = 30
# Long enough for the test to see the recorded outage before the next run replaces it.
RECONCILE_INTERVAL_MS = 2000


def reconcile_run(server, pid: int):
    """(last_run_at, last_result, last_error) of the worker's reconcile job, or None if the
    server does not answer or nothing is recorded yet."""
    try:
        rows = server.query(
            "SELECT r.last_run_at, r.last_result, r.last_error FROM job_runs r "
            "JOIN workers w ON w.id = r.worker_id WHERE w.pid = %s AND r.job_id = 'reconcile'",
            pid,
        )
    except psycopg.OperationalError:
        return None
    return rows[0] if rows else None


def heartbeat(server, pid: int):
    """The worker's last heartbeat, on the database's clock."""
    rows = server.query("SELECT last_heartbeat_at FROM workers WHERE pid = %s", pid)
    return rows[0][0] if rows else None


def test_a_worker_outlives_an_outage_and_records_it(outage_server):
    with running_workers(
        outage_server.url, ["outlasting"], TAPBANK_RECONCILE_INTERVAL_MS=RECONCILE_INTERVAL_MS
    ) as workers:
        worker = workers[0]

        def run_where(condition):
            """The reconcile run as recorded now, if condition holds of it."""
            run = reconcile_run(outage_server, worker.pid)
            return run if run and condition(*run) else None

        before = wait_for(
            lambda: run_where(lambda _at, _result, error: error is None),
            RECOVERY_SECONDS,
            "the worker's first clean reconcile run",
        )
        outage_server.stop()
        try:
            time.sleep(OUTAGE_SECONDS)
            assert_running(workers)
        finally:
            outage_server.start()
        back_at = outage_server.query("SELECT now()")[0][0]
        failed = wait_for(
            lambda: run_where(lambda _at, _result, error: error is not None),
            RECOVERY_SECONDS,
            "the outage's error in the reconcile job's result",
        )
        recovered = wait_for(
            lambda: run_where(lambda at, _result, error: error is None and at > failed[0]),
            RECOVERY_SECONDS,
            "a clean reconcile run after the outage",
        )
        wait_for(
            lambda: heartbeat(outage_server, worker.pid) > back_at,
            RECOVERY_SECONDS,
            "a heartbeat after the outage",
        )
        assert_running(workers)
        assert worker.terminate() == 0
        output = worker.output()

    assert before[0] < failed[0] < recovered[0]
    assert failed[1] == "error"
    assert "OperationalError" in failed[2]
    assert recovered[1].startswith("batches=")
    # One line when the database went and one when it came back, not one a run.
    assert output.count("the database cannot be reached") == 1, output
    assert output.count("the database answers again") == 1, output
    assert "Traceback" not in output, output


def test_a_worker_started_while_the_database_is_down_waits_for_it(outage_server):
    outage_server.stop()
    try:
        with running_workers(outage_server.url, ["early"]) as workers:
            time.sleep(OUTAGE_SECONDS)
            assert_running(workers)
            outage_server.start()

            wait_for(
                lambda: heartbeat(outage_server, workers[0].pid),
                RECOVERY_SECONDS,
                "the worker to register once the database answers",
            )
            assert_running(workers)
            assert workers[0].terminate() == 0
            assert "Traceback" not in workers[0].output()
    finally:
        outage_server.start()
