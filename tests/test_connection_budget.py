"""The connection budget: its arithmetic, and the check against a real server's limit, in the
functions and in the processes that run it at their start (gunicorn, a worker)."""

import logging
import subprocess

import psycopg
import pytest

from tapbank.config import ConfigurationError, DevelopmentConfig
from tapbank.connection_budget import (
    ServerLimit,
    check_connection_budget,
    overdrawn,
    read_server_limit,
)
from tapbank.database_options import connections_per_process
from tests.conftest import ADMIN_KEY
from tests.database import libpq_url
from tests.live_server import GUNICORN, HOST, ROOT, free_port, server_environment
from tests.scheduler.workers import WorkerProcess

DEFAULT_SERVER = ServerLimit(max_connections=100, reserved=3)


def settings(env_name: str = "development", **overrides) -> dict:
    """Every setting as an app's config holds it, for one environment."""
    config = DevelopmentConfig()
    values = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    return values | {"ENV_NAME": env_name} | overrides


def processes_that_overdraw(limit: ServerLimit, per_process: int) -> int:
    return limit.usable // per_process + 1


def test_a_default_server_leaves_its_clients_all_but_the_reserved_slots_and_a_tenth():
    assert DEFAULT_SERVER.usable == 100 - 3 - 10


def test_the_default_gunicorn_and_four_workers_fit_a_default_server(monkeypatch):
    for name in ("TAPBANK_DB_POOL_SIZE", "TAPBANK_DB_MAX_OVERFLOW"):
        monkeypatch.delenv(name, raising=False)
    per_process = connections_per_process(settings())
    most_gunicorn_workers = 8  # gunicorn.conf.py's cap

    assert overdrawn(most_gunicorn_workers + 4, per_process, DEFAULT_SERVER) is None


def test_processes_past_the_budget_are_overdrawn_naming_the_figures():
    assert overdrawn(12, 7, DEFAULT_SERVER) is None  # 84 of 87
    problem = overdrawn(13, 7, DEFAULT_SERVER)

    assert "= 91" in problem and "87" in problem and "max_connections 100" in problem


def test_the_limit_is_read_from_the_server(database_url):
    with psycopg.connect(libpq_url(database_url)) as connection:
        expected = int(connection.execute("SHOW max_connections").fetchone()[0])

    limit = read_server_limit(database_url, connect_timeout=5)

    assert limit.max_connections == expected
    assert limit.reserved >= 0


def test_overdrawing_the_real_server_warns_in_development_and_refuses_in_production(
    database_url, caplog
):
    limit = read_server_limit(database_url, connect_timeout=5)
    per_process = connections_per_process(settings())
    too_many = processes_that_overdraw(limit, per_process)

    with caplog.at_level(logging.WARNING, logger="tapbank.connection_budget"):
        check_connection_budget(settings(), database_url, too_many - 1, "the API")
        assert not caplog.records
        check_connection_budget(settings(), database_url, too_many, "the API")
    assert "the API could outgrow the database" in caplog.text
    with pytest.raises(ConfigurationError, match=f"max_connections {limit.max_connections}"):
        check_connection_budget(settings("production"), database_url, too_many, "the API")


def test_an_unreadable_limit_or_a_pooler_skips_the_check_even_in_production(
    database_url, tmp_path, caplog
):
    nowhere = f"postgresql+psycopg://postgres@/postgres?host={tmp_path}"
    with caplog.at_level(logging.INFO, logger="tapbank.connection_budget"):
        check_connection_budget(settings("production"), nowhere, 10_000, "the API")
        check_connection_budget(
            settings("production", TAPBANK_DB_POOLER="pgbouncer"), database_url, 10_000, "the API"
        )

    assert "did not say its limit" in caplog.text
    assert "behind pgbouncer" in caplog.text


@pytest.mark.slow
def test_a_production_worker_whose_pool_overdraws_the_server_refuses_to_start(
    migrated_app, database_url
):
    worker = WorkerProcess(
        database_url, "greedy", {"TAPBANK_ENV": "production", "TAPBANK_DB_POOL_SIZE": 1000}
    )
    try:
        assert worker.wait(timeout=30) != 0
        assert "tapbank refuses to start: this reconciler worker:" in worker.output()
    finally:
        worker.end()


@pytest.mark.slow
def test_production_gunicorn_whose_workers_overdraw_the_server_refuses_to_start(
    migrated_app, database_url
):
    env = server_environment(database_url, ADMIN_KEY) | {
        "TAPBANK_ENV": "production",
        "TAPBANK_DB_POOL_SIZE": "100",
    }
    command = [str(GUNICORN), "-w", "2", "-b", f"{HOST}:{free_port()}", "wsgi:app"]

    finished = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert finished.returncode != 0
    assert "tapbank refuses to start: gunicorn's 2 worker(s):" in finished.stderr
