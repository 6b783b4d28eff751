"""Everything the soak run starts: an embedded PostgreSQL on its own data dir with a fresh database,
PgBouncer in front of it, gunicorn and three reconciler workers through PgBouncer. Each fault the
schedule injects acts on one of these processes, by its own pid."""

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from bench.database import ROOT, libpq_url
from bench.processes import BIN, Gunicorn, SchedulerWorker, service_env, stop_process
from tapbank.config import TestingConfig
from tapbank.database_options import pooler_connect_query
from tapbank.devtools.pgbouncer import PgBouncer
from tapbank.embedded_postgres import server_running, start_server, stop_server

DATA_DIR = ROOT / "instance" / "soak-postgres"
LOG_DIR = ROOT / "bench" / "results" / "soak-logs"
WEB_WORKERS = 3
RECONCILERS = 3


class Stack:
    """Start with start(), stop with close() (always, in a finally)."""

    def __init__(self, ttl_seconds: int) -> None:
        self.ttl_seconds = ttl_seconds
        self.admin_key = "tbadmin_soak-" + secrets.token_urlsafe(24)
        self.database = f"tapbank_soak_{secrets.token_hex(4)}"
        self.server_url = ""
        self.direct_url = ""
        self.bouncer: PgBouncer | None = None
        self.bouncer_dir = Path(tempfile.mkdtemp(prefix="tapbank-soak-pgbouncer-"))
        self.gunicorn: Gunicorn | None = None
        self.workers: list[SchedulerWorker] = []
        self.started_postgres = False
        # Every reconciler ever started, so close() stops one the fault thread is starting.
        self._spawned: list[SchedulerWorker] = []
        self._closing = False
        self._lock = threading.Lock()

    # --- start and stop -------------------------------------------------------------------------

    def start(self) -> None:
        self.server_url, self.started_postgres = start_server(DATA_DIR)
        with psycopg.connect(libpq_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        self.direct_url = (
            make_url(self.server_url)
            .set(database=self.database)
            .render_as_string(hide_password=False)
        )
        self.flask("db", "upgrade")
        self.bouncer = PgBouncer(self.server_url, self.bouncer_dir, pooler_connect_query(_config()))
        self.bouncer.start()
        self.gunicorn = Gunicorn("wsgi:app", self.service_env(), WEB_WORKERS)
        self.gunicorn.start()
        for _ in range(RECONCILERS):
            self.workers.append(self._new_worker())

    def close(self) -> None:
        """Stop everything this run started, in reverse order; each step even if one fails."""
        with self._lock:
            self._closing = True
            spawned = list(self._spawned)
        steps = [self._keep_logs, *(w.stop for w in spawned)]
        if self.gunicorn is not None:
            steps.append(self.gunicorn.stop)
        if self.bouncer is not None:
            steps.append(self.bouncer.stop)
        steps.append(self._drop_database)
        steps.append(lambda: stop_server(DATA_DIR))
        steps.append(lambda: shutil.rmtree(self.bouncer_dir, ignore_errors=True))
        for step in steps:
            try:
                step()
            except Exception as error:  # noqa: BLE001 - clean up the rest regardless
                print(f"soak: clean-up step failed: {error!r}")

    def _keep_logs(self) -> None:
        """What gunicorn, the workers and PgBouncer printed, for reading a violation's cause."""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        services = [("gunicorn", self.gunicorn)] if self.gunicorn else []
        services += [(f"reconciler-{n}", w) for n, w in enumerate(self.workers)]
        for name, service in services:
            if not service.log.closed:
                (LOG_DIR / f"{name}.log").write_text(service.output(last=50_000_000))
        if self.bouncer is not None:
            (LOG_DIR / "pgbouncer.log").write_text(self.bouncer.log())

    def _drop_database(self) -> None:
        if not server_running(DATA_DIR):
            start_server(DATA_DIR)
        with psycopg.connect(libpq_url(self.server_url), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    # --- environments and commands --------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.gunicorn.url

    def pooled_url(self) -> str:
        return self.bouncer.url_for(self.database)

    def service_env(self) -> dict[str, str]:
        """gunicorn's and the workers' settings: through PgBouncer, a short TTL, inline on."""
        return service_env(
            self.pooled_url(),
            self.admin_key,
            TAPBANK_DB_POOLER="pgbouncer",
            TAPBANK_SCHEDULER="off",
            TAPBANK_SETTLE_INLINE="1",
            TAPBANK_TAP_TTL_SECONDS=str(self.ttl_seconds),
        )

    def flask(self, *args: str) -> subprocess.CompletedProcess:
        """A `flask` command straight to PostgreSQL (migrations, ledger verify)."""
        env = service_env(self.direct_url, self.admin_key)
        return subprocess.run(
            [str(BIN / "flask"), "--app", "tapbank", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=args[:2] == ("db", "upgrade"),
        )

    # --- faults ---------------------------------------------------------------------------------

    def _new_worker(self) -> SchedulerWorker:
        with self._lock:
            if self._closing:
                raise RuntimeError("the soak run is stopping")
            worker = SchedulerWorker(self.service_env())
            self._spawned.append(worker)
        worker.start()
        with self._lock:
            closing = self._closing
        if closing:
            worker.stop()
            raise RuntimeError("the soak run is stopping")
        return worker

    def kill_reconciler(self, index: int) -> str:
        """SIGKILL one reconciler worker and start a new one in its place."""
        victim = self.workers[index % len(self.workers)]
        pid = victim.process.pid
        victim.process.send_signal(signal.SIGKILL)
        victim.process.wait()
        victim.log.close()
        replacement = self._new_worker()
        self.workers[index % len(self.workers)] = replacement
        return f"reconciler pid {pid} killed, pid {replacement.process.pid} started"

    def kill_web_worker(self) -> str:
        """SIGKILL one gunicorn worker (a child of the master); the master forks a new one."""
        master = self.gunicorn.process.pid
        children = _children(master)
        if not children:
            return "no gunicorn worker found"
        victim = children[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if len([c for c in _children(master) if c != victim]) >= WEB_WORKERS:
                break
            time.sleep(0.1)
        return f"gunicorn worker pid {victim} killed, {len(_children(master))} workers now"

    def stop_postgres(self) -> None:
        stop_server(DATA_DIR)

    def start_postgres(self) -> str:
        url, _ = start_server(DATA_DIR)
        if url != self.server_url:
            return f"PostgreSQL came back at another address: {url}"
        return ""

    def stop_worker_processes(self) -> None:
        for worker in self.workers:
            stop_process(worker.process)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _config() -> dict:
    config = TestingConfig()
    return {name: getattr(config, name) for name in dir(config) if name.isupper()}
