"""A PostgreSQL server of the tests' own, with the schema migrated, that a test may stop (an
outage) and start again on the same data, at the same address."""

from pathlib import Path

import psycopg

from tapbank.embedded_postgres import start_server, stop_server
from tests.database import libpq_url


class ThrowawayServer:
    """A real server on data_dir; its URL stays the same across stops and starts."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url, _ = start_server(data_dir)

    def start(self) -> None:
        """Start the server again (nothing to do if it runs)."""
        start_server(self.data_dir)

    def stop(self) -> None:
        """Stop the server: every session is ended and no new one is accepted."""
        stop_server(self.data_dir)

    def query(self, sql: str, *params) -> list[tuple]:
        """Rows over a connection of the test's own, made for this query alone."""
        with psycopg.connect(libpq_url(self.url), autocommit=True) as connection:
            return connection.execute(sql, params).fetchall()
