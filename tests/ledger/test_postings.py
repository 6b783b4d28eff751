"""Posting a transfer moves the balances from their locked, current values."""

import uuid

from sqlalchemy import text

from tapbank import create_app
from tapbank.extensions import db
from tapbank.ledger import accounts as account_rules
from tapbank.models import Account
from tests.conftest import make_config


def deposit_from_another_process(database_url, account_id, amount, admin_headers):
    """Deposit through a second app on the same database, as another server process would."""
    other = create_app(make_config(database_url))
    try:
        path = f"/api/v1/accounts/{account_id}/deposits"
        response = other.test_client().post(path, json={"amount": amount}, headers=admin_headers)
        assert response.status_code == 201, response.json
    finally:
        with other.app_context():
            db.engine.dispose()


def test_a_deposit_counts_from_the_balance_another_process_just_committed(
    factory, admin_headers, database_url
):
    opened = factory.account("Ada", deposit=100)
    db.session.rollback()
    account = db.session.get(Account, uuid.UUID(opened.id))
    assert account.balance == 100  # read but not locked, as the deposit view reads it first

    deposit_from_another_process(database_url, opened.id, 40, admin_headers)
    account_rules.deposit(db.session, account, 2)
    db.session.commit()

    assert factory.balance(opened) == 142
    entries_total, last_balance_after = db.session.execute(
        text(
            "SELECT sum(amount), (array_agg(balance_after ORDER BY ledger_seq DESC))[1] "
            "FROM entries WHERE account_id = :id"
        ),
        {"id": account.id},
    ).one()
    assert (entries_total, last_balance_after) == (142, 142)
