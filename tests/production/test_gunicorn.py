"""The gunicorn configuration in the repository, booted for real on loopback."""

import re
import shutil
import socket
import subprocess
import sys

import pytest
import requests

from tests.conftest import ADMIN_KEY
from tests.live_server import (
    HOST,
    ROOT,
    LiveServer,
    free_port,
    gunicorn_refusals,
    server_environment,
)

pytestmark = pytest.mark.slow


def _requests_counted(metrics_text: str, rule: str) -> float:
    pattern = rf'^tapbank_http_request_duration_seconds_count\{{[^}}]*url_rule="{re.escape(rule)}"'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if re.match(pattern, line)
    )


def test_metrics_are_summed_over_every_gunicorn_worker(migrated_app, database_url):
    server = LiveServer(database_url, ADMIN_KEY, workers=3, threads=1)
    server.start()
    try:
        before = _requests_counted(
            requests.get(f"{server.url}/metrics", timeout=5).text, "/healthz"
        )
        for _ in range(60):
            # a fresh connection each time, so the requests spread over the workers
            assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        for _ in range(5):  # whichever worker answers, it reports every worker's requests
            metrics = requests.get(f"{server.url}/metrics", timeout=5).text
            assert _requests_counted(metrics, "/healthz") - before == 60
        assert "tapbank_transfers_settled_total" in metrics
    finally:
        server.stop()


def test_production_gunicorn_serves_without_the_embedded_postgres_installed(
    migrated_app, database_url, image_pythonpath
):
    settings = {"TAPBANK_ENV": "production", "PYTHONPATH": image_pythonpath}
    server = LiveServer(database_url, ADMIN_KEY, workers=1, threads=2, settings=settings)
    server.start()
    try:
        ready = requests.get(f"{server.url}/readyz", timeout=5)
        listed = requests.get(
            f"{server.url}/api/v1/accounts",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            timeout=5,
        )
    finally:
        server.stop()
    assert ready.status_code == 200, server.output()
    assert listed.status_code == 200, server.output()


def test_every_response_carries_a_request_id_that_the_access_log_records(
    migrated_app, database_url
):
    server = LiveServer(database_url, ADMIN_KEY, workers=1, threads=2)
    server.start()
    try:
        response = requests.get(
            f"{server.url}/healthz", headers={"X-Request-ID": "trace-me-42"}, timeout=5
        )
        assert response.headers["X-Request-ID"] == "trace-me-42"
        generated = requests.get(f"{server.url}/healthz", timeout=5).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", generated)
    finally:
        server.stop()
    log = server.output()
    assert '"request_id": "trace-me-42"' in log


def test_no_key_reaches_the_server_log(migrated_app, database_url):
    server = LiveServer(database_url, ADMIN_KEY, workers=1, threads=2)
    server.start()
    try:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        opened = requests.post(
            f"{server.url}/api/v1/accounts", json={"owner_name": "Ada"}, headers=admin, timeout=5
        )
        account_key = opened.json()["api_key"]
        account_id = opened.json()["account"]["id"]
        wrong_key = "tbk_a-key-never-issued-so-it-fails-and-is-recorded"
        for key in (account_key, wrong_key):
            requests.get(
                f"{server.url}/api/v1/accounts/{account_id}",
                headers={"Authorization": f"Bearer {key}"},
                timeout=5,
            )
    finally:
        server.stop()
    log = server.output()
    assert f"/api/v1/accounts/{account_id}" in log  # the requests were logged
    for key in (ADMIN_KEY, account_key, wrong_key):
        assert key not in log
        assert key.partition("_")[2] not in log


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_gunicorn_serves_over_tls_with_its_certificate_options(
    migrated_app, database_url, tmp_path
):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    server = LiveServer(database_url, ADMIN_KEY, workers=1, threads=2, tls=(cert, key))
    server.start()
    try:
        assert server.url.startswith("https://")
        response = requests.get(f"{server.url}/readyz", verify=str(cert), timeout=5)
        assert response.status_code == 200
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{server.url}/healthz", timeout=5)  # untrusted without the cert
    finally:
        server.stop()


@pytest.mark.parametrize("missing", ["DATABASE_URL", "TAPBANK_ADMIN_KEY"])
def test_production_refuses_to_start_without_its_required_settings(database_url, missing):
    env = server_environment(database_url, ADMIN_KEY)
    env["TAPBANK_ENV"] = "production"
    del env[missing]
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_with_a_metrics_port_every_workers_metrics_are_served_there_and_not_on_the_api_port(
    migrated_app, database_url
):
    port = free_port()
    server = LiveServer(
        database_url, ADMIN_KEY, workers=3, threads=1, settings={"TAPBANK_METRICS_PORT": port}
    )
    server.start()
    try:
        metrics_url = f"http://{HOST}:{port}/metrics"
        before = _requests_counted(requests.get(metrics_url, timeout=5).text, "/healthz")
        for _ in range(30):
            assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        on_api_port = requests.get(f"{server.url}/metrics", timeout=5)
        metrics = requests.get(metrics_url, timeout=5)
    finally:
        server.stop()
    assert metrics.status_code == 200
    assert _requests_counted(metrics.text, "/healthz") - before == 30
    assert "tapbank_transfers_settled_total" in metrics.text
    assert on_api_port.status_code == 404
    assert on_api_port.json()["error"] == "not_found"


def test_a_metrics_port_already_taken_is_refused_in_one_line(migrated_app, database_url):
    env = server_environment(database_url, ADMIN_KEY)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        refusals = gunicorn_refusals(env | {"TAPBANK_METRICS_PORT": str(port)})
    assert len(refusals) == 1
    assert refusals[0].startswith(f"tapbank refuses to start: TAPBANK_METRICS_PORT {port} on ")


def test_the_repository_config_makes_no_control_socket(migrated_app, database_url, tmp_path):
    # gunicorn's default is one socket path per user, which every gunicorn on the host takes over.
    home = tmp_path / "home"
    home.mkdir()
    places = {"HOME": str(home), "XDG_RUNTIME_DIR": str(home)}
    server = LiveServer(database_url, ADMIN_KEY, workers=1, folder=tmp_path, settings=places)
    server.start()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert list(home.rglob("*.ctl")) == []
    finally:
        server.stop()
