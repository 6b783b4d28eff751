"""A real gunicorn serving the app on 127.0.0.1, for tests that need real processes and sockets."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
HOST = "127.0.0.1"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def server_environment(database_url: str, admin_key: str) -> dict[str, str]:
    """The caller's environment without its tapbank settings, plus the test server's own."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TAPBANK_") and name != "DATABASE_URL"
    }
    env.update(
        TAPBANK_ENV="testing",
        DATABASE_URL=database_url,
        TAPBANK_ADMIN_KEY=admin_key,
    )
    return env


class LiveServer:
    """gunicorn with two threaded workers, and any settings given; start() waits until /healthz
    answers."""

    def __init__(
        self,
        database_url: str,
        admin_key: str,
        workers: int = 2,
        threads: int = 8,
        tls: tuple[Path, Path] | None = None,
        folder: Path | None = None,
        settings: dict | None = None,
    ):
        """folder: run there (its instance/ holds the demo keys) with gunicorn.conf.py's hooks,
        as `make run` does (the embedded reconciler with TAPBANK_SCHEDULER=embedded)."""
        self.port = free_port()
        self.url = f"{'https' if tls else 'http'}://{HOST}:{self.port}"
        self.verify: str | bool = str(tls[0]) if tls else True
        self.command = [
            str(GUNICORN),
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-b",
            f"{HOST}:{self.port}",
            "wsgi:app",
        ]
        if tls:
            self.command += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
        if folder:
            self.command += ["-c", str(ROOT / "gunicorn.conf.py"), "--chdir", str(folder)]
            self.command += ["--pythonpath", str(ROOT)]
        # A connection for each thread, as docs/scaling.md advises.
        self.env = server_environment(database_url, admin_key) | {
            "TAPBANK_DB_POOL_SIZE": str(threads),
        }
        self.env.update({name: str(value) for name, value in (settings or {}).items()})
        self.log = tempfile.TemporaryFile()
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> None:
        """Launch gunicorn and wait for its health check, or fail with what it printed."""
        self.process = subprocess.Popen(
            self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}:\n{self.output()}"
                )
            try:
                health = requests.get(f"{self.url}/healthz", timeout=1, verify=self.verify)
                if health.status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or a worker still booting
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout}s:\n{self.output()}")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then wait for a graceful exit (SIGKILL only if it never comes)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def output(self) -> str:
        """Everything gunicorn and the app printed so far."""
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def gunicorn_refusals(env: dict[str, str]) -> list[str]:
    """Start gunicorn (one worker) with env, expecting it to refuse: check that it exited
    non-zero without a traceback, and return the lines that say it refuses."""
    finished = subprocess.run(
        [str(GUNICORN), "-w", "1", "-b", f"{HOST}:{free_port()}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0, finished.stderr
    assert "Traceback" not in finished.stderr, finished.stderr
    return [line for line in finished.stderr.splitlines() if "refuses" in line]
