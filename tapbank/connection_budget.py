"""The connection budget: the most connections a group of tapbank processes may open, against
what the PostgreSQL server leaves for clients. gunicorn checks it for its workers when it
starts, and `flask scheduler run` for itself; docs/scaling.md has the arithmetic."""

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import psycopg
from sqlalchemy.engine import make_url

from tapbank.config import ConfigurationError
from tapbank.database_options import connections_per_process

log = logging.getLogger(__name__)

# Beyond the slots the server reserves, a tenth of them stays free for operators' sessions,
# migrations and monitoring.
MARGIN = 0.1

SERVER_LIMIT = (
    "SELECT current_setting('max_connections')::int, "
    "current_setting('superuser_reserved_connections')::int "
    # reserved_connections is PostgreSQL 16's: missing (null) before it.
    "+ coalesce(current_setting('reserved_connections', true), '0')::int"
)


@dataclass(frozen=True)
class ServerLimit:
    """The server's max_connections and the slots it reserves for privileged roles."""

    max_connections: int
    reserved: int

    @property
    def usable(self) -> int:
        """The connections left for clients such as tapbank, the margin kept free."""
        margin = math.ceil(self.max_connections * MARGIN)
        return self.max_connections - self.reserved - margin


def overdrawn(processes: int, per_process: int, limit: ServerLimit) -> str | None:
    """Why processes opening up to per_process connections each would not fit, or None."""
    planned = processes * per_process
    if planned <= limit.usable:
        return None
    return (
        f"{processes} process(es) x {per_process} connections each "
        f"(TAPBANK_DB_POOL_SIZE + TAPBANK_DB_MAX_OVERFLOW) = {planned}, more than the "
        f"{limit.usable} the server leaves for clients (max_connections "
        f"{limit.max_connections}, less {limit.reserved} reserved and a tenth kept free)"
    )


def read_server_limit(url: str, connect_timeout: int) -> ServerLimit | None:
    """The limit of the server at url (a SQLAlchemy URL), or None when it does not say."""
    libpq_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(
            libpq_url, connect_timeout=connect_timeout, autocommit=True
        ) as connection:
            max_connections, reserved = connection.execute(SERVER_LIMIT).fetchone()
    except psycopg.Error as failure:
        log.warning(
            "connection budget not checked: the database did not say its limit (%s)",
            type(failure).__name__,
        )
        return None
    return ServerLimit(max_connections, reserved)


def check_connection_budget(settings: Mapping, url: str, processes: int, who: str) -> None:
    """Warn when processes could open more connections than the server leaves for clients, or
    in production refuse (ConfigurationError). Behind a pooler, or when the server does not
    say its limit (it may be down: that must not stop a start), the check is skipped."""
    pooler = settings["TAPBANK_DB_POOLER"]
    if pooler != "none":
        log.info("connection budget not checked: behind %s, the limit is the pooler's", pooler)
        return
    limit = read_server_limit(url, settings["TAPBANK_DB_CONNECT_TIMEOUT_S"])
    if limit is None:
        return
    problem = overdrawn(processes, connections_per_process(settings), limit)
    if problem is None:
        return
    if settings["ENV_NAME"] == "production":
        raise ConfigurationError(f"{who}: {problem}")
    log.warning("%s could outgrow the database: %s", who, problem)
