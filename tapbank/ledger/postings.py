"""Posting one transfer: debit one account, credit another, and record the balances it leaves."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from tapbank.domain_errors import CurrencyMismatch, InsufficientFunds, UnknownAccount
from tapbank.models import Account, AccountType, Transfer, TransferKind
from tapbank.models.types import time_ordered_id


@dataclass(frozen=True)
class Posting:
    """One transfer to write: who pays whom how much."""

    debit_account_id: uuid.UUID
    credit_account_id: uuid.UUID
    amount: int
    currency: str
    kind: TransferKind
    memo: str | None = None
    tap_key: uuid.UUID | None = None


def lock_accounts(session: Session, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, Account]:
    """Lock accounts in id order, the one order every writer uses, so writers never deadlock.

    populate_existing: an account the session read before the lock must take the locked row's
    balance, or a transfer committed in between would be overwritten.
    """
    rows = session.scalars(
        select(Account)
        .where(Account.id.in_(account_ids))
        .order_by(Account.id)
        # As settlement locks them: no foreign-key check of these accounts waits on this.
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    ).all()
    return {account.id: account for account in rows}


def post_transfer(session: Session, posting: Posting) -> Transfer:
    """Write one transfer and move both balances; flushes, never commits."""
    named = {posting.debit_account_id, posting.credit_account_id}
    accounts = lock_accounts(session, named)
    if accounts.keys() != named:
        raise UnknownAccount()
    debit, credit = accounts[posting.debit_account_id], accounts[posting.credit_account_id]
    if {debit.currency, credit.currency} != {posting.currency}:
        raise CurrencyMismatch()
    if debit.account_type != AccountType.FUNDING and debit.balance < posting.amount:
        raise InsufficientFunds()
    debit.balance -= posting.amount
    credit.balance += posting.amount
    transfer = Transfer(
        id=time_ordered_id(),
        kind=posting.kind,
        tap_key=posting.tap_key,
        debit_account_id=debit.id,
        credit_account_id=credit.id,
        amount=posting.amount,
        currency=posting.currency,
        memo=posting.memo,
        debit_balance_after=debit.balance,
        credit_balance_after=credit.balance,
    )
    session.add(transfer)
    session.flush()
    return transfer
