"""Emptying the ledger, for the development reset and the tests: the one way past the rule that
transfers are never truncated, and only inside the caller's transaction."""

from sqlalchemy import text
from sqlalchemy.orm import Session


def truncate_with_the_ledger(session: Session, tables: tuple[str, ...], *, cascade=False) -> None:
    """TRUNCATE transfers and these tables. The trigger that refuses it is disabled and enabled
    again in this same transaction, which holds transfers exclusively until it ends: no other
    session ever sees the rule lifted, and a rollback puts everything back."""
    session.execute(text("ALTER TABLE transfers DISABLE TRIGGER transfers_never_truncated"))
    session.execute(
        text(f"TRUNCATE {', '.join(('transfers', *tables))}{' CASCADE' if cascade else ''}")
    )
    session.execute(text("ALTER TABLE transfers ENABLE TRIGGER transfers_never_truncated"))
