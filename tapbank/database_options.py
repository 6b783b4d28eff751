"""The engine every tapbank process opens: its pool, the pinned isolation level, the session's
timeouts and TCP keepalives, all from the TAPBANK_DB_* settings (tapbank/config.py)."""

from collections.abc import Mapping


def engine_options(settings: Mapping) -> dict:
    """SQLAlchemy's create_engine options for these settings."""
    return {
        "pool_pre_ping": True,
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
    return arguments


def session_options(settings: Mapping) -> str:
    """The startup `options` that set the session's lock, statement and idle timeouts."""
    timeouts = {
        "lock_timeout": settings["TAPBANK_DB_LOCK_TIMEOUT_MS"],
        "statement_timeout": settings["TAPBANK_DB_STATEMENT_TIMEOUT_MS"],
        "idle_in_transaction_session_timeout": settings[
            "TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"
        ],
    }
    return " ".join(f"-c {name}={milliseconds}" for name, milliseconds in timeouts.items())


def connections_per_process(settings: Mapping) -> int:
    """The most connections one process's engine opens: its pool and the pool's overflow."""
    return settings["TAPBANK_DB_POOL_SIZE"] + settings["TAPBANK_DB_MAX_OVERFLOW"]
