"""Posting a transfer moves the balances from their locked, current values."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tapbank import create_app
from tapbank.domain_errors import InsufficientFunds
from tapbank.extensions import db
from tapbank.ledger import accounts as account_rules
from tapbank.ledger.postings import Posting, post_transfer
from tapbank.models import Account, TransferKind
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


def test_a_half_is_taken_at_once_while_a_deposit_holds_its_account(factory):
    # A posting locks its accounts FOR NO KEY UPDATE, as settlement does: a new half's
    # foreign-key check of the account (FOR KEY SHARE) goes through instead of waiting for it.
    payer = factory.account("Ada", deposit=500)
    with Session(db.engine) as posting:
        account_rules.deposit(posting, posting.get(Account, uuid.UUID(payer.id)), 100)
        response = factory.send(uuid.uuid4(), payer)
        posting.commit()

    assert response.status_code == 201, response.json
    assert factory.balance(payer) == 600


def test_a_posting_may_take_the_whole_balance_and_not_a_unit_more(factory):
    payer, payee = factory.account("Ada", deposit=500), factory.account("Bob")
    accounts = uuid.UUID(payer.id), uuid.UUID(payee.id)

    with pytest.raises(InsufficientFunds):
        post_transfer(db.session, Posting(*accounts, 501, "USD", TransferKind.DEPOSIT))
    db.session.rollback()
    post_transfer(db.session, Posting(*accounts, 500, "USD", TransferKind.DEPOSIT))
    db.session.commit()

    assert (factory.balance(payer), factory.balance(payee)) == (0, 500)


def test_a_posted_transfer_has_a_time_ordered_id(factory):
    # UUIDv7: new ledger rows land at the end of the primary-key index, not on random pages.
    account = factory.account("Ada")
    made = [
        account_rules.deposit(db.session, db.session.get(Account, uuid.UUID(account.id)), 1).id
        for _ in range(3)
    ]
    db.session.commit()

    assert all(transfer_id.version == 7 for transfer_id in made)
    assert made == sorted(made)


def test_a_posting_for_a_tap_records_its_key_and_a_second_one_is_refused(factory):
    payer, payee = factory.account("Ada", deposit=500), factory.account("Bob")
    tap_key = uuid.uuid4()
    posting = Posting(
        uuid.UUID(payer.id), uuid.UUID(payee.id), 100, "USD", TransferKind.TAP, tap_key=tap_key
    )

    assert post_transfer(db.session, posting).tap_key == tap_key
    db.session.commit()
    with pytest.raises(IntegrityError):
        post_transfer(db.session, posting)
    db.session.rollback()

    assert (factory.balance(payer), factory.balance(payee)) == (400, 100)
