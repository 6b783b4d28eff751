"""Real triggers installed for one block of a test: faults made by the database itself."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from tapbank.extensions import db


@contextmanager
def trigger(table: str, when: str, body: str) -> Iterator[None]:
    """A row trigger on table (when: e.g. "BEFORE INSERT") running the PL/pgSQL body, committed
    for the block and dropped after it."""
    name = f"test_trigger_{uuid.uuid4().hex[:8]}"
    db.session.execute(
        text(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {body} END $$")
    )
    db.session.execute(
        text(f"CREATE TRIGGER {name} {when} ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()")
    )
    db.session.commit()
    try:
        yield
    finally:
        db.session.rollback()
        db.session.execute(text(f"DROP TRIGGER IF EXISTS {name} ON {table}"))
        db.session.execute(text(f"DROP FUNCTION IF EXISTS {name}()"))
        db.session.commit()
