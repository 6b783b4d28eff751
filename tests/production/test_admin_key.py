"""Only an API process needs the admin key in production: gunicorn refuses to start without
it, in one line; a reconciler worker, which answers no request, starts and works."""

import pytest

from tapbank.extensions import db
from tapbank.models import Worker
from tests.conftest import ADMIN_KEY
from tests.live_server import gunicorn_refusals, server_environment
from tests.scheduler.workers import WorkerProcess, wait_for

pytestmark = pytest.mark.slow


def test_production_gunicorn_without_the_admin_key_refuses_to_start_in_one_line(database_url):
    env = server_environment(database_url, ADMIN_KEY) | {"TAPBANK_ENV": "production"}
    del env["TAPBANK_ADMIN_KEY"]

    assert gunicorn_refusals(env) == [
        "tapbank refuses to start: the API in TAPBANK_ENV=production needs TAPBANK_ADMIN_KEY"
    ]


def test_a_production_worker_starts_and_reports_without_the_admin_key(
    app, database_url, image_pythonpath
):
    settings = {
        "TAPBANK_ENV": "production",
        "TAPBANK_ADMIN_KEY": None,
        "PYTHONPATH": image_pythonpath,  # and without the embedded PostgreSQL, as in the image
    }
    worker = WorkerProcess(database_url, "keyless", settings)
    try:

        def registered():
            assert worker.process.poll() is None, f"the worker exited:\n{worker.output()}"
            db.session.rollback()  # a fresh snapshot each time
            return db.session.query(Worker).filter_by(pid=worker.pid, state="running").first()

        wait_for(registered, timeout=30, what="the worker to register")
        assert worker.terminate() == 0, worker.output()
        assert "refuses" not in worker.output()
    finally:
        worker.end()
