"""The psycopg connection under a session, for what set-based writes need of it: COPY, array
literals, statements planned for their own parameters, and a statement sent alone. Everything
runs inside the session's transaction; a statement sent alone is a transaction of its own."""

from typing import NamedTuple

from psycopg.rows import namedtuple_row
from sqlalchemy.orm import Session, scoped_session

_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_rows(
    session: Session,
    table: str,
    columns: tuple[str, ...],
    rows: list[tuple],
    *,
    plain: bool = False,
) -> None:
    """COPY rows into table, in list order.

    The rows are formatted as COPY text in one piece, which costs far less per row than the
    driver's write_row. plain rows hold only uuids, integers and letter codes, whose str() COPY
    takes as it is.
    """
    field_text = str if plain else copy_field
    payload = "".join("\t".join(map(field_text, row)) + "\n" for row in rows)
    with driver_cursor(session) as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            copy.write(payload)


def copy_field(value) -> str:
    """One value in COPY's text format: a list becomes an array literal; nothing is NULL."""
    if isinstance(value, list):
        items = ",".join(
            '"' + item.replace("\\", "\\\\").replace('"', '\\"') + '"' for item in value
        )
        value = "{" + items + "}"
    return str(value).translate(_COPY_ESCAPES)


def array_literal(values) -> str:
    """A PostgreSQL array literal of uuids or integers, to be cast in SQL: one parameter is far
    cheaper to send than a driver-adapted list of thousands of objects."""
    return "{" + ",".join(map(str, values)) + "}"


def execute_unprepared(session: Session, sql: str, params: dict) -> int:
    """Run sql planned for these very parameters; returns its rowcount.

    psycopg prepares a statement it has run five times, and PostgreSQL may then reuse a generic
    plan made for any parameters; for a statement over a batch's array of keys that plan can
    loop over the whole array once per row (docs/scaling.md).
    """
    with driver_cursor(session) as cursor:
        cursor.execute(sql, params, prepare=False)
        return cursor.rowcount


def fetch_rows(
    session: Session, sql: str, params: dict, *, alone: bool = False
) -> list[NamedTuple]:
    """The rows of sql (psycopg placeholders) as named tuples, run on the driver's own cursor.

    alone: sql is a transaction of its own, committed by the server as it ends: no BEGIN and no
    COMMIT are sent, so it costs one round trip, not three. Only for a session that has not
    begun a transaction; later statements of the session each commit alone too, until it ends.
    """
    with driver_cursor(session, alone=alone, row_factory=namedtuple_row) as cursor:
        return cursor.execute(sql, params).fetchall()


def has_begun(session: Session | scoped_session) -> bool:
    """Whether the session (a scoped one's current session) has begun a transaction."""
    current = session() if isinstance(session, scoped_session) else session
    return current.in_transaction()


def driver_cursor(session: Session, *, alone: bool = False, **options):
    """A psycopg cursor on the session's own connection, inside its transaction (in autocommit
    when alone)."""
    connection = session.connection(execution_options=_AUTOCOMMIT if alone else None)
    return connection.connection.driver_connection.cursor(**options)


_AUTOCOMMIT = {"isolation_level": "AUTOCOMMIT"}
