"""The processes a measurement starts (gunicorn, a scheduler worker), and how they are stopped.

Every one is started with an environment stripped of the caller's tapbank settings, stopped by its
own pid with SIGTERM (SIGKILL only if it does not exit), and leaves its output in a log file that
an error quotes.
"""

import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.database import ROOT, query

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
# Settings of the caller's shell that must not leak into what the bench starts.
STRIPPED = ("DATABASE_URL", "WEB_CONCURRENCY", "PORT", "PROMETHEUS_MULTIPROC_DIR")
STRIPPED_PREFIXES = ("TAPBANK_", "GUNICORN_")


def service_env(database_url: str, admin_key: str, **settings: str) -> dict[str, str]:
    """The caller's environment without its tapbank settings, plus the service's own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in STRIPPED and not name.startswith(STRIPPED_PREFIXES)
    }
    env.update(TAPBANK_ENV="testing", DATABASE_URL=database_url, TAPBANK_ADMIN_KEY=admin_key)
    env.update(settings)
    return env


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """SIGTERM the process by its pid and wait; SIGKILL only if it does not exit in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Service:
    """A subprocess with its output in a temporary log file."""

    name = "service"

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.command = command
        self.env = env
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        """Launch the command from the repository root, then wait until it is ready."""
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        try:
            self.wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the process (if it was started) and close the log."""
        if self.process is not None:
            stop_process(self.process)
        self.log.close()

    def wait_until_ready(self, timeout: float = 30.0) -> None:
        """Poll is_ready until it holds; fail with the output if the process dies."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.output()}"
                )
            if self.is_ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} was not ready within {timeout:.0f}s:\n{self.output()}")

    def is_ready(self) -> bool:
        """Whether the process may be measured against; each kind of service says how."""
        return True

    def output(self, last: int = 4000) -> str:
        """The end of what the process printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-last:]


class Gunicorn(Service):
    """`gunicorn -c gunicorn.conf.py <app>` on a free loopback port; ready once it answers HTTP."""

    name = "gunicorn"

    def __init__(self, app_path: str, env: dict[str, str], workers: int) -> None:
        self.port = free_port()
        self.metrics_dir = tempfile.TemporaryDirectory(prefix="tapbank-bench-metrics-")
        env = dict(
            env,
            GUNICORN_BIND=f"{HOST}:{self.port}",
            WEB_CONCURRENCY=str(workers),
            PROMETHEUS_MULTIPROC_DIR=self.metrics_dir.name,
        )
        command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"]
        super().__init__([*command, app_path], env)

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://{HOST}:{self.port}"

    def is_ready(self) -> bool:
        """Any HTTP answer at all means a worker is serving."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return True
        except OSError:
            return False
        finally:
            conn.close()

    def stop(self) -> None:
        """Stop gunicorn and remove its metrics folder."""
        super().stop()
        self.metrics_dir.cleanup()


class SchedulerWorker(Service):
    """`flask --app tapbank scheduler run`; ready once it has registered in the workers table."""

    name = "scheduler worker"

    def __init__(self, env: dict[str, str]) -> None:
        self.database_url = env["DATABASE_URL"]
        super().__init__([str(BIN / "flask"), "--app", "tapbank", "scheduler", "run"], env)

    def is_ready(self) -> bool:
        """Registered and running: its jobs are scheduled."""
        rows = query(
            self.database_url,
            "SELECT 1 FROM workers WHERE pid = %(pid)s AND state = 'running'",
            {"pid": self.process.pid},
        )
        return bool(rows)
