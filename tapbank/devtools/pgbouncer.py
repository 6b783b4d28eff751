"""A real PgBouncer (Debian's 1.18, as the containers run) in front of a PostgreSQL server, with the
project's own docker/pgbouncer/pgbouncer.ini included after the local listening settings. The tests
and the soak run use it; it needs /usr/sbin/pgbouncer (`make test` installs it)."""

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
SHARED_INI = ROOT / "docker" / "pgbouncer" / "pgbouncer.ini"
# PgBouncer refuses to run as root; under root it runs as the user the embedded server runs as.
RUN_AS = "pgserver"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class PgBouncer:
    """Started in front of the PostgreSQL server at server_url; stopped by stop()."""

    def __init__(self, server_url: str, directory: Path, connect_query: str) -> None:
        self.server = make_url(server_url)
        self.directory = directory
        self.connect_query = connect_query
        self.port = free_port()

    def url_for(self, database: str) -> str:
        """An SQLAlchemy URL of database through this PgBouncer."""
        user = self.server.username or "postgres"
        return f"postgresql+psycopg://{user}@{HOST}:{self.port}/{database}"

    def start(self) -> None:
        """Write the configuration, start PgBouncer as a daemon, wait until it listens."""
        executable = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        self.directory.mkdir(parents=True, exist_ok=True)
        ini = self.directory / "local.ini"
        (self.directory / "users.txt").write_text(f'"{self.server.username or "postgres"}" ""\n')
        ini.write_text(self._local_ini())
        command = [executable, "-d", str(ini)]
        if os.geteuid() == 0:
            shutil.chown(self.directory, RUN_AS)
            for path in self.directory.iterdir():
                shutil.chown(path, RUN_AS)
            command[1:1] = ["-u", RUN_AS]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
        self._wait_until_listening()

    def stop(self) -> None:
        """Shut PgBouncer down (SIGINT: at once, closing every connection)."""
        pidfile = self.directory / "pgbouncer.pid"
        if pidfile.exists():
            pid = int(pidfile.read_text().split()[0])
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 10
            while pidfile.exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    def shown_config(self) -> dict[str, str]:
        """The settings in force, as PgBouncer's own console shows them."""
        user = self.server.username or "postgres"
        url = f"postgresql://{user}@{HOST}:{self.port}/pgbouncer"
        with psycopg.connect(url, autocommit=True, prepare_threshold=None) as console:
            return {row[0]: row[1] for row in console.execute("SHOW CONFIG").fetchall()}

    def log(self) -> str:
        path = self.directory / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def _local_ini(self) -> str:
        query = self.server.query
        host = query.get("host") or self.server.host or "127.0.0.1"
        port = self.server.port or 5432
        connect_query = self.connect_query.replace("'", "''")
        return (
            "[databases]\n"
            f"* = host={host} port={port} connect_query='{connect_query}'\n"
            "\n[pgbouncer]\n"
            f"listen_addr = {HOST}\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            "auth_type = trust\n"
            f"auth_file = {self.directory / 'users.txt'}\n"
            f"logfile = {self.directory / 'pgbouncer.log'}\n"
            f"pidfile = {self.directory / 'pgbouncer.pid'}\n"
            f"admin_users = {self.server.username or 'postgres'}\n"
            f"\n%include {SHARED_INI}\n"
        )

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex((HOST, self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"PgBouncer did not listen on {self.port}:\n{self.log()}")
