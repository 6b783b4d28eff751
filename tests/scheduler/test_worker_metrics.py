"""A worker serves its own metrics on a port of its own."""

import pytest
import requests

from tests.live_server import free_port
from tests.scheduler.workers import WorkerProcess, wait_for

pytestmark = pytest.mark.slow


def test_a_worker_serves_its_own_metrics_on_its_port(migrated_app, database_url):
    port = free_port()
    worker = WorkerProcess(database_url, "metrics-worker", {"TAPBANK_WORKER_METRICS_PORT": port})
    try:

        def metrics():
            try:
                return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).text
            except requests.RequestException:
                return None

        text = wait_for(metrics, timeout=20, what="the worker's metrics port")
        assert "tapbank_reconcile_batch_seconds" in text
        assert "tapbank_backlog_matched" in text
    finally:
        worker.end()
