"""Fixtures the settlement tests share."""

from datetime import timedelta

import pytest

from tapbank.extensions import db
from tapbank.ledger.verify import verify_ledger


@pytest.fixture
def ledger_holds(app):
    """After the test, every invariant of the ledger holds."""
    yield
    db.session.rollback()
    checks = verify_ledger(db.session, ttl=timedelta(seconds=120), interval=timedelta(seconds=1))
    db.session.rollback()
    assert [check.statement for check in checks if not check.holds] == []
