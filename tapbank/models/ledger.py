"""The double-entry ledger: transfers, each carrying both of its accounts' balances after it."""

import enum
import uuid

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Identity, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, MinorUnits, UUIDKey, db_enum


class TransferKind(enum.StrEnum):
    DEPOSIT = "deposit"
    TAP = "tap"


class Direction(enum.StrEnum):
    """Which way a transfer moved one account's money: credited, or debited."""

    CREDIT = "credit"
    DEBIT = "debit"


class Transfer(db.Model):
    """Money moved from one account to another, double-entry by construction: one positive
    amount, debited from one account and credited to another, with the balance each was left
    with. Never changed once written (a trigger refuses UPDATE, DELETE and TRUNCATE)."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint("(kind = 'tap') = (tap_key IS NOT NULL)", name="tap_key_iff_tap"),
        Index("ix_transfers_debit_account_id_ledger_seq", "debit_account_id", "ledger_seq"),
        Index("ix_transfers_credit_account_id_ledger_seq", "credit_account_id", "ledger_seq"),
        Index("ix_transfers_ledger_seq", "ledger_seq", unique=True),
    )

    id: Mapped[UUIDKey]
    kind: Mapped[TransferKind] = mapped_column(db_enum(TransferKind, "transfer_kind"))
    tap_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    debit_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str | None] = mapped_column(String(500))
    debit_balance_after: Mapped[MinorUnits]
    credit_balance_after: Mapped[MinorUnits]
    # The order transfers were applied in. Drawn when the row is written, always under both
    # accounts' locks, so each account's transfers are in this order as their balances ran.
    ledger_seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True, cache=1))
    created_at: Mapped[CreatedAt]
