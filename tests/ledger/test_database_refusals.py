"""What the database itself refuses, whatever the code above it does, and the ledger invariants."""

import uuid

import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from tapbank.extensions import db
from tapbank.ledger.emptying import truncate_with_the_ledger
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


def test_the_database_refuses_to_update_a_transfer(deposited):
    before = scalar("SELECT sum(amount) FROM transfers")
    error = refusal("UPDATE transfers SET amount = amount + 1")

    assert isinstance(error, psycopg.errors.RestrictViolation)
    assert "append-only" in str(error)
    assert scalar("SELECT sum(amount) FROM transfers") == before


@pytest.mark.parametrize(
    ("column", "value"),
    [("debit_balance_after", "0"), ("credit_balance_after", "0"), ("ledger_seq", "DEFAULT")],
)
def test_the_database_refuses_to_update_what_a_transfer_recorded(deposited, column, value):
    error = refusal(f"UPDATE transfers SET {column} = {value}")
    assert isinstance(error, psycopg.errors.RestrictViolation)


def test_the_database_refuses_to_delete_a_transfer(deposited):
    before = scalar("SELECT count(*) FROM transfers")
    assert before == 6

    error = refusal(
        "DELETE FROM transfers WHERE ledger_seq = (SELECT max(ledger_seq) FROM transfers)"
    )

    assert isinstance(error, psycopg.errors.RestrictViolation)
    assert scalar("SELECT count(*) FROM transfers") == before


@pytest.mark.parametrize(
    "statement",
    ["TRUNCATE transfers CASCADE", "TRUNCATE accounts CASCADE"],
    ids=["direct", "cascaded"],
)
def test_the_database_refuses_to_truncate_the_transfers(deposited, statement):
    before = scalar("SELECT count(*) FROM transfers")

    error = refusal(statement)

    assert isinstance(error, psycopg.errors.RestrictViolation)
    assert scalar("SELECT count(*) FROM transfers") == before


def test_a_transfer_cannot_choose_its_place_in_the_ledger_order(deposited):
    error = refusal(
        "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, currency,"
        " debit_balance_after, credit_balance_after, ledger_seq)"
        " VALUES (:id, 'deposit', :debit, :credit, 1, 'USD', 0, 0, 1)",
        id=uuid.uuid4(),
        debit=FUNDING_ACCOUNT_ID,
        credit=uuid.UUID(deposited[0].id),
    )
    assert isinstance(error, psycopg.errors.GeneratedAlways)


def test_emptying_the_ledger_lifts_the_rule_only_inside_its_own_transaction(deposited):
    truncate_with_the_ledger(db.session, ("tap_queue", "halves", "taps", "failures"))
    assert scalar("SELECT count(*) FROM transfers") == 0
    db.session.rollback()

    assert scalar("SELECT count(*) FROM transfers") == 6
    assert refusal("TRUNCATE transfers CASCADE") is not None
    truncate_with_the_ledger(db.session, ("tap_queue", "halves", "taps", "failures"))
    db.session.commit()
    assert scalar("SELECT count(*) FROM transfers") == 0
    assert isinstance(refusal("TRUNCATE transfers CASCADE"), psycopg.errors.RestrictViolation)


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
        "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, currency,"
        " debit_balance_after, credit_balance_after)"
        " VALUES (:id, 'deposit', :debit, :credit, :amount, 'USD', 0, 0)",
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


# Ledger invariants after deposits


def test_the_entries_view_shows_each_transfer_on_both_its_accounts_summing_to_zero(deposited):
    transfers = db.session.execute(
        text(
            "SELECT t.id, count(*), sum(e.amount), max(e.amount), t.amount FROM transfers t"
            " JOIN entries e ON e.transfer_id = t.id GROUP BY t.id"
        )
    ).all()

    assert len(transfers) == 6
    for transfer_id, entry_count, total, credited, amount in transfers:
        assert (entry_count, total, credited) == (2, 0, amount), transfer_id


def test_the_sum_of_all_balances_the_funding_accounts_included_is_zero(deposited):
    assert scalar("SELECT count(*) FROM accounts WHERE balance <> 0") == 4
    assert scalar("SELECT sum(balance) FROM accounts") == 0
    funding = scalar("SELECT balance FROM accounts WHERE id = :id", id=FUNDING_ACCOUNT_ID)
    assert funding == -(5000 + 120 + 1 + 250 + 7 + 99_999)


def test_every_balance_equals_its_credits_less_its_debits_and_its_last_balance_after(deposited):
    rows = db.session.execute(
        text(
            "SELECT a.id, a.balance, coalesce(sum(e.amount), 0),"
            " (SELECT balance_after FROM entries WHERE account_id = a.id"
            "  ORDER BY ledger_seq DESC LIMIT 1)"
            " FROM accounts a LEFT JOIN entries e ON e.account_id = a.id GROUP BY a.id"
        )
    ).all()

    assert len(rows) == 4
    for account_id, balance, entries_total, last_balance_after in rows:
        assert balance == entries_total, account_id
        assert balance == last_balance_after, account_id
