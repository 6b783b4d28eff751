"""A pooled connection is pinged before use only when it sat idle in the pool for a while.

SQLAlchemy's pool_pre_ping pings on every checkout: a round trip on every request, a quarter of
a PUT half's. A connection used a moment ago was alive a moment ago; one idle for longer may have
been closed under it (a restart, an idle timeout, a pooler's), and is pinged and replaced as
pool_pre_ping would. A server gone within that moment costs at most one 503
database_unavailable per process: the disconnect it meets invalidates the whole pool.
"""

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

PING_AFTER_IDLE_SECONDS = 1.0
IDLE_SINCE = "tapbank_idle_since"


def ping_when_idle(engine: Engine, after_seconds: float = PING_AFTER_IDLE_SECONDS) -> None:
    """Ping engine's connections at checkout once they have been idle for after_seconds."""

    @event.listens_for(engine, "checkin")
    def _idle_from_now(dbapi_connection, record) -> None:
        record.info[IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.pop(IDLE_SINCE, None)
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return  # just opened, or just used
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError("the pooled connection is gone") from error
