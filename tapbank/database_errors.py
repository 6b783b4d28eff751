"""Which database failures a client may simply retry: the database out of reach, or a lock or
a pooled connection not had in time. Everything else is a bug or a refusal, and not retryable.

The driver's own errors count as much as SQLAlchemy's: COPY and the unprepared statements run
on psycopg's cursor directly (tapbank/driver.py), so their errors arrive unwrapped.
"""

import enum
import logging

import psycopg
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Every error the database, its driver or the pool raises: psycopg's own arrive unwrapped from
# the driver's cursor, the pool's when no connection is had in time.
DATABASE_ERRORS = (DBAPIError, PoolTimeout, psycopg.Error)

# The server is going or gone (shutdown, crash, recovery), or it ended this session (a session
# timeout), or it has no connection slot left: retrying on a new connection is the cure.
SESSION_ENDED = {"57P01", "57P02", "57P03", "57P05", "25P03", "53300"}
# The statement gave up waiting: lock_timeout (lock_not_available), or statement_timeout
# (query_canceled), with the database itself in good health.
LOCK_NOT_AVAILABLE = "55P03"
GAVE_UP_WAITING = {LOCK_NOT_AVAILABLE, "57014"}


class Retryable(enum.Enum):
    """What a client is told to retry after: the database out of reach, or it being busy."""

    DATABASE_UNAVAILABLE = "database_unavailable"
    BUSY = "busy"


def retryable(error: BaseException) -> Retryable | None:
    """How a database error may be retried, or None when it is not a matter of retrying."""
    if isinstance(error, PoolTimeout):
        return Retryable.BUSY
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return Retryable.DATABASE_UNAVAILABLE
        error = error.orig
    if not isinstance(error, psycopg.Error):
        return None
    sqlstate = error.sqlstate
    if sqlstate in GAVE_UP_WAITING:
        return Retryable.BUSY
    if sqlstate in SESSION_ENDED or (sqlstate or "").startswith("08"):
        return Retryable.DATABASE_UNAVAILABLE
    if sqlstate is None and isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
        # No answer from a server at all: refused, timed out, or the connection dropped.
        return Retryable.DATABASE_UNAVAILABLE
    return None


def gave_up_on_a_lock(error: BaseException) -> bool:
    """Whether error is lock_timeout's: a lock another transaction held was not had in time."""
    return getattr(getattr(error, "orig", error), "sqlstate", None) == LOCK_NOT_AVAILABLE


def database_unreachable(error: BaseException) -> bool:
    """Whether error says the database cannot be reached right now."""
    return retryable(error) is Retryable.DATABASE_UNAVAILABLE


def roll_back_quietly(session: Session) -> None:
    """Roll the session back; on a dead connection the rollback fails too, and the pool then
    discards that connection, which is all a rollback could have done."""
    try:
        session.rollback()
    except (SQLAlchemyError, psycopg.Error) as failure:
        log.debug("rollback failed on a broken connection: %s", type(failure).__name__)


def describe_failure(failure: BaseException) -> str:
    """The failure's kind and the database's own one-line message, for a record an operator
    reads: never SQL, parameters or a traceback."""
    original = getattr(failure, "orig", None)
    lines = str(original if original is not None else failure).splitlines()
    return f"{type(failure).__name__}: {lines[0] if lines else ''}"[:500]
