"""Reconciler workers as real processes: `flask scheduler run` on the test database."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_KEY

ROOT = Path(__file__).resolve().parents[2]
FLASK = Path(sys.executable).parent / "flask"


def worker_environment(database_url: str, name: str, settings: dict) -> dict[str, str]:
    """The caller's environment without its tapbank settings, plus the worker's own.

    The database URL carries the worker's name as application_name, so a test can find the
    worker's sessions in pg_stat_activity. A setting given as None is left unset.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("TAPBANK_") and key != "DATABASE_URL"
    }
    tagged = make_url(database_url).update_query_dict({"application_name": name})
    env.update(
        TAPBANK_ENV="testing",
        DATABASE_URL=tagged.render_as_string(hide_password=False),
        TAPBANK_ADMIN_KEY=ADMIN_KEY,
    )
    for key, value in settings.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


class WorkerProcess:
    """One `flask scheduler run` process, its output kept for a failing test to show."""

    def __init__(self, database_url: str, name: str, settings: dict) -> None:
        self.name = name
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [str(FLASK), "--app", "tapbank", "scheduler", "run"],
            cwd=ROOT,
            env=worker_environment(database_url, name, settings),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM, and the exit code once it has exited."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def wait(self, timeout: float = 30.0) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> int:
        """SIGKILL: no chance to finish anything."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def end(self) -> None:
        """Make sure the process is gone (SIGKILL by its pid if it still runs)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


@contextmanager
def running_workers(database_url: str, names: list[str], **settings) -> Iterator[list]:
    """Start a worker per name with these settings; every one is ended on the way out."""
    started: list[WorkerProcess] = []
    try:
        for name in names:
            started.append(WorkerProcess(database_url, name, settings))
        yield started
    finally:
        for worker in started:
            worker.end()


def wait_for(condition: Callable[[], object], timeout: float, what: str, poll: float = 0.05):
    """Poll condition until it returns something true (and return that), or fail saying what."""
    deadline = time.monotonic() + timeout
    while True:
        outcome = condition()
        if outcome:
            return outcome
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(poll)


def assert_running(workers: list[WorkerProcess]) -> None:
    """Every worker still runs; otherwise fail with what the dead one printed."""
    for worker in workers:
        code = worker.process.poll()
        assert code is None, f"worker {worker.name} exited with {code}:\n{worker.output()}"
