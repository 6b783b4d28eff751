"""Reading the ledger back: accounts, an account's transfers and every transfer, newest first."""

import uuid
from datetime import datetime

from sqlalchemy import Select, literal, select, union_all
from sqlalchemy.orm import Session

from tapbank.models import Account, AccountType, Direction, Transfer
from tapbank.pagination import Page, paginate


def list_accounts(session: Session, cursor: str | None, limit: int) -> Page:
    """Customer accounts, newest first."""
    query = select(Account).where(Account.account_type != AccountType.FUNDING)
    page = paginate(
        session,
        query,
        [Account.created_at, Account.id],
        cursor,
        limit,
        parse=[datetime.fromisoformat, uuid.UUID],
        key_of=lambda row: [row[0].created_at.isoformat(), row[0].id],
    )
    return Page(items=[row[0] for row in page.items], next_cursor=page.next_cursor)


def all_transfers(session: Session, cursor: str | None, limit: int) -> Page:
    """Every account's transfers, taps and deposits, newest first (in ledger order)."""
    page = paginate(
        session,
        select(Transfer),
        [Transfer.ledger_seq],
        cursor,
        limit,
        parse=[int],
        key_of=lambda row: [row[0].ledger_seq],
    )
    return Page(items=[row[0] for row in page.items], next_cursor=page.next_cursor)


def account_history(
    session: Session, account_id: uuid.UUID, cursor: str | None, limit: int
) -> Page:
    """The account's settled transfers and deposits with direction and the balance after."""
    # Each side read through its own (account, ledger_seq) index; the newest of both merge.
    history = union_all(
        _one_side(
            Transfer.debit_account_id == account_id,
            Direction.DEBIT,
            Transfer.credit_account_id,
            Transfer.debit_balance_after,
        ),
        _one_side(
            Transfer.credit_account_id == account_id,
            Direction.CREDIT,
            Transfer.debit_account_id,
            Transfer.credit_balance_after,
        ),
    ).subquery("history")
    page = paginate(
        session,
        select(history),
        [history.c.ledger_seq],
        cursor,
        limit,
        parse=[int],
        key_of=lambda row: [row.ledger_seq],
    )
    return Page(items=[row._asdict() for row in page.items], next_cursor=page.next_cursor)


def _one_side(on_this_side, direction: Direction, counterparty, balance_after) -> Select:
    """The transfers where the account is on one side, as history items."""
    return select(
        Transfer.ledger_seq,
        Transfer.id.label("transfer_id"),
        Transfer.kind,
        literal(direction.value).label("direction"),
        Transfer.amount,
        Transfer.currency,
        counterparty.label("counterparty_account_id"),
        Transfer.memo,
        Transfer.tap_key,
        balance_after.label("balance_after"),
        Transfer.created_at,
    ).where(on_this_side)
