"""Reading the ledger back: accounts and an account's transfers, newest first."""

import uuid
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from tapbank.models import Account, AccountType, Direction, Entry, Transfer
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


def account_history(
    session: Session, account_id: uuid.UUID, cursor: str | None, limit: int
) -> Page:
    """The account's settled transfers and deposits with direction and the balance after."""
    counterparty = case(
        (Transfer.debit_account_id == account_id, Transfer.credit_account_id),
        else_=Transfer.debit_account_id,
    )
    query = (
        select(
            Entry.id.label("entry_id"),
            Transfer.id.label("transfer_id"),
            Transfer.kind,
            case((Entry.amount > 0, Direction.CREDIT.value), else_=Direction.DEBIT.value).label(
                "direction"
            ),
            Transfer.amount,
            Transfer.currency,
            counterparty.label("counterparty_account_id"),
            Transfer.memo,
            Transfer.tap_key,
            Entry.balance_after,
            Entry.created_at,
        )
        .join(Transfer, Transfer.id == Entry.transfer_id)
        .where(Entry.account_id == account_id)
    )
    page = paginate(
        session, query, [Entry.id], cursor, limit, parse=[int], key_of=lambda row: [row.entry_id]
    )
    return Page(items=[row._asdict() for row in page.items], next_cursor=page.next_cursor)
