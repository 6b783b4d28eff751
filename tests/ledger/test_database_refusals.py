"""What the database itself refuses, whatever the code above it does, and the ledger invariants."""

import uuid

import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tapbank.extensions import db
from tapbank.ledger.postings import Posting, post_transfer
from tapbank.models import TransferKind
from tapbank.models.accounts import FUNDING_ACCOUNT_ID


def refusal(statement: str, **params) -> psycopg.Error:
    """Run statement, expect the database to refuse it, roll back and return its error."""
    with pytest.raises(DBAPIError) as caught:
        db.session.execute(text(statement), params)
        db.session.flush()
    db.session.rollback()
    return caught.value.orig


def scalar(statement: str, **params):
    return db.session.execute(text(statement), params).scalar()


@pytest.fixture
def deposited(factory, client, admin_headers):
    """Three accounts with an opening deposit each and some later deposits."""
    accounts = [
        factory.account(name, deposit=amount)
        for name, amount in (("Ada", 5000), ("Bob", 120), ("Cy", 1))
    ]
    for account, amount in zip(accounts, (250, 7, 99_999), strict=True):
        path = f"/api/v1/accounts/{account.id}/deposits"
        assert client.post(path, json={"amount": amount}, headers=admin_headers).status_code == 201
    db.session.rollback()
    return accounts


def test_the_database_refuses_to_update_an_entry(deposited):
    before = scalar("SELECT sum(amount) FROM entries WHERE amount > 0")
    error = refusal("UPDATE entries SET amount = amount + 1 WHERE amount > 0")

    assert isinstance(error, psycopg.errors.RestrictViolation)
    assert "append-only" in str(error)
    assert scalar("SELECT sum(amount) FROM entries WHERE amount > 0") == before


def test_the_database_refuses_to_update_an_entrys_balance_after(deposited):
    error = refusal("UPDATE entries SET balance_after = 0")
    assert isinstance(error, psycopg.errors.RestrictViolation)


def test_the_database_refuses_to_delete_an_entry(deposited):
    before = scalar("SELECT count(*) FROM entries")
    assert before == 12

    error = refusal("DELETE FROM entries WHERE id = (SELECT max(id) FROM entries)")

    assert isinstance(error, psycopg.errors.RestrictViolation)
    assert scalar("SELECT count(*) FROM entries") == before


def test_the_database_refuses_a_negative_customer_balance(deposited):
    account_id = uuid.UUID(deposited[0].id)
    error = refusal("UPDATE accounts SET balance = -1 WHERE id = :id", id=account_id)

    assert isinstance(error, psycopg.errors.CheckViolation)
    assert error.diag.constraint_name == "ck_accounts_customer_balance_not_negative"
    assert scalar("SELECT balance FROM accounts WHERE id = :id", id=account_id) == 5250


def test_the_funding_account_alone_may_go_below_zero(deposited):
    balance = scalar("SELECT balance FROM accounts WHERE id = :id", id=FUNDING_ACCOUNT_ID)
    assert balance < 0
    db.session.execute(
        text("UPDATE accounts SET balance = balance - 1 WHERE id = :id"), {"id": FUNDING_ACCOUNT_ID}
    )
    db.session.flush()
    assert (
        scalar("SELECT balance FROM accounts WHERE id = :id", id=FUNDING_ACCOUNT_ID) == balance - 1
    )
    db.session.rollback()


@pytest.mark.parametrize("amount", [0, -100])
def test_the_database_refuses_a_transfer_that_is_not_positive(deposited, amount):
    error = refusal(
        "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, currency)"
        " VALUES (:id, 'deposit', :debit, :credit, :amount, 'USD')",
        id=uuid.uuid4(),
        debit=FUNDING_ACCOUNT_ID,
        credit=uuid.UUID(deposited[0].id),
        amount=amount,
    )

    assert isinstance(error, psycopg.errors.CheckViolation)
    assert error.diag.constraint_name == "ck_transfers_amount_positive"


def test_a_posting_of_zero_is_refused_by_the_database_even_from_the_ledger_code(deposited):
    transfers_before = scalar("SELECT count(*) FROM transfers")
    posting = Posting(
        debit_account_id=FUNDING_ACCOUNT_ID,
        credit_account_id=uuid.UUID(deposited[0].id),
        amount=0,
        currency="USD",
        kind=TransferKind.DEPOSIT,
    )

    with pytest.raises(IntegrityError) as caught:
        post_transfer(db.session, posting)
    db.session.rollback()

    assert isinstance(caught.value.orig, psycopg.errors.CheckViolation)
    assert scalar("SELECT count(*) FROM transfers") == transfers_before


def test_the_database_refuses_an_entry_of_zero(deposited):
    transfer_id = scalar("SELECT transfer_id FROM entries LIMIT 1")
    error = refusal(
        "INSERT INTO entries (transfer_id, account_id, amount, balance_after)"
        " VALUES (:transfer, :account, 0, 0)",
        transfer=transfer_id,
        account=uuid.UUID(deposited[0].id),
    )
    assert isinstance(error, psycopg.errors.CheckViolation)
    assert error.diag.constraint_name == "ck_entries_amount_not_zero"


# Ledger invariants after deposits


def test_every_transfer_has_two_entries_that_sum_to_zero(deposited):
    transfers = db.session.execute(
        text(
            "SELECT t.id, count(e.id), coalesce(sum(e.amount), 0), t.amount FROM transfers t"
            " LEFT JOIN entries e ON e.transfer_id = t.id GROUP BY t.id"
        )
    ).all()

    assert len(transfers) == 6
    for transfer_id, entry_count, total, amount in transfers:
        assert (entry_count, total) == (2, 0), transfer_id
        assert (
            scalar("SELECT max(amount) FROM entries WHERE transfer_id = :id", id=transfer_id)
            == amount
        )


def test_the_sum_of_all_balances_the_funding_accounts_included_is_zero(deposited):
    assert scalar("SELECT count(*) FROM accounts WHERE balance <> 0") == 4
    assert scalar("SELECT sum(balance) FROM accounts") == 0
    funding = scalar("SELECT balance FROM accounts WHERE id = :id", id=FUNDING_ACCOUNT_ID)
    assert funding == -(5000 + 120 + 1 + 250 + 7 + 99_999)


def test_every_balance_equals_the_sum_of_its_entries_and_its_last_balance_after(deposited):
    rows = db.session.execute(
        text(
            "SELECT a.id, a.balance, coalesce(sum(e.amount), 0),"
            " (SELECT balance_after FROM entries WHERE account_id = a.id ORDER BY id DESC LIMIT 1)"
            " FROM accounts a LEFT JOIN entries e ON e.account_id = a.id GROUP BY a.id"
        )
    ).all()

    assert len(rows) == 4
    for account_id, balance, entries_total, last_balance_after in rows:
        assert balance == entries_total, account_id
        assert balance == last_balance_after, account_id
