"""The engine every tapbank process opens: its pool, the pinned isolation level, the session's
timeouts and TCP keepalives, all from the TAPBANK_DB_* settings (tapbank/config.py). Pooled
connections are pinged only after sitting idle (tapbank/idle_ping.py), not on every checkout."""

from collections.abc import Mapping


def engine_options(settings: Mapping) -> dict:
    """SQLAlchemy's create_engine options for these settings."""
    return {
        "pool_size": settings["TAPBANK_DB_POOL_SIZE"],
        "max_overflow": settings["TAPBANK_DB_MAX_OVERFLOW"],
        "pool_timeout": settings["TAPBANK_DB_POOL_TIMEOUT_S"],
        # Every rule of the code is written for READ COMMITTED: a server's default must not
        # change it.
        "isolation_level": "READ COMMITTED",
        # Parameters carry key digests and customers' text: never in a log or an error.
        "hide_parameters": True,
        "connect_args": connect_arguments(settings),
    }


def connect_arguments(settings: Mapping) -> dict:
    """libpq's connection parameters: how long to try, keepalives, and the session's timeouts."""
    arguments = {
        "connect_timeout": settings["TAPBANK_DB_CONNECT_TIMEOUT_S"],
        # A server that vanished without closing its sockets is noticed by the kernel, not by
        # a request waiting forever on a dead connection.
        "keepalives": 1,
        "keepalives_idle": settings["TAPBANK_DB_KEEPALIVES_IDLE_S"],
        "keepalives_interval": settings["TAPBANK_DB_KEEPALIVES_INTERVAL_S"],
        "keepalives_count": settings["TAPBANK_DB_KEEPALIVES_COUNT"],
    }
    if settings["TAPBANK_DB_POOLER"] == "none":
        arguments["options"] = session_options(settings)
    else:
        # A transaction pooler hands each transaction to any server connection: a statement
        # prepared on one is unknown on the next, so psycopg must never prepare.
        arguments["prepare_threshold"] = None
    return arguments


def session_timeouts(settings: Mapping) -> dict[str, int]:
    """The session's lock, statement and idle-in-transaction timeouts, in milliseconds."""
    return {
        "lock_timeout": settings["TAPBANK_DB_LOCK_TIMEOUT_MS"],
        "statement_timeout": settings["TAPBANK_DB_STATEMENT_TIMEOUT_MS"],
        "idle_in_transaction_session_timeout": settings[
            "TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"
        ],
    }


def session_options(settings: Mapping) -> str:
    """The startup `options` that set the session's timeouts, connecting straight to PostgreSQL."""
    timeouts = session_timeouts(settings)
    return " ".join(f"-c {name}={milliseconds}" for name, milliseconds in timeouts.items())


def pooler_connect_query(settings: Mapping) -> str:
    """The same timeouts as SQL, for a pooler that refuses `options` to run on every server
    connection it opens (PgBouncer's connect_query)."""
    timeouts = session_timeouts(settings)
    return "; ".join(f"SET {name} = {milliseconds}" for name, milliseconds in timeouts.items())


def connections_per_process(settings: Mapping) -> int:
    """The most connections one process's engine opens: its pool and the pool's overflow."""
    return settings["TAPBANK_DB_POOL_SIZE"] + settings["TAPBANK_DB_MAX_OVERFLOW"]
