"""The embedded server: made on first use, with the settings tapbank gives it, and stopped by
whoever started it (only)."""

import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from tapbank.embedded_postgres import (
    SERVER_SETTINGS,
    embedded_server,
    server_running,
    start_server,
    stop_server,
)
from tests.database import ROOT

HOLD = [sys.executable, "-m", "tapbank.embedded_postgres_cli"]
# A command that stands for gunicorn under `make run`: it serves until a signal ends it.
SERVE_UNTIL_STOPPED = "import time; print('serving', flush=True); time.sleep(120)"


@pytest.fixture
def data_dir(tmp_path):
    """A data dir for a server of the test's own, stopped after the test whatever happened."""
    path = tmp_path / "postgres"
    yield path
    stop_server(path)


def hold(*args: str, **options) -> subprocess.Popen:
    """`python -m tapbank.embedded_postgres_cli args...`, as make runs it."""
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    return subprocess.Popen([*HOLD, *args], cwd=ROOT, env=env, text=True, **options)


def postmaster_pid(data_dir) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def ended(pid: int, timeout: float = 10.0) -> bool:
    """Whether the process has ended, given a moment to."""
    # The postmaster removes its pid file, which is what pg_ctl waits for, just before it exits.
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)


def test_a_new_embedded_server_runs_with_its_settings_from_the_start(data_dir):
    url, started = start_server(data_dir)

    assert started
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        for name, value in SERVER_SETTINGS.items():
            assert connection.execute(f"SHOW {name}").fetchone()[0] == value
        # Durability is not what was traded for speed.
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert connection.execute(f"SHOW {name}").fetchone()[0] == "on"
    assert start_server(data_dir) == (url, False)  # the running server is reused


@pytest.mark.slow
def test_run_stops_the_server_it_started_once_its_stopped_command_has_ended(data_dir):
    process = hold(
        "run",
        str(data_dir),
        "--",
        sys.executable,
        "-c",
        SERVE_UNTIL_STOPPED,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout.readline() == "serving\n"
        postmaster = postmaster_pid(data_dir)
        assert alive(postmaster)

        process.send_signal(signal.SIGTERM)  # to the holder alone: it passes it on

        assert process.wait(timeout=60) == 128 + signal.SIGTERM
        assert not server_running(data_dir)
        assert ended(postmaster)
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_a_server_found_running_is_left_running_and_stop_stops_it(data_dir):
    start_server(data_dir)
    postmaster = postmaster_pid(data_dir)

    assert hold("run", str(data_dir), "--", sys.executable, "-c", "pass").wait(timeout=60) == 0
    assert server_running(data_dir) and postmaster_pid(data_dir) == postmaster

    stopped = hold("stop", str(data_dir), stdout=subprocess.PIPE).communicate(timeout=60)[0]
    assert stopped.startswith("stopped the PostgreSQL server")
    assert ended(postmaster)
    again = hold("stop", str(data_dir), stdout=subprocess.PIPE)
    assert again.communicate(timeout=60)[0].startswith("no PostgreSQL server is running")
    assert again.returncode == 0


@pytest.mark.slow
def test_a_server_someone_else_still_uses_is_left_running_when_its_starter_ends(data_dir):
    with embedded_server(data_dir) as url:
        other_user = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        assert server_running(data_dir)
        assert other_user.execute("SELECT 1").fetchone() == (1,)
    finally:
        other_user.close()

    with embedded_server(data_dir):
        pass  # started by someone else (the block above): left running
    assert server_running(data_dir)
