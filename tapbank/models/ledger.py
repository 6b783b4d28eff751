"""The double-entry ledger: transfers and their append-only entries."""

import enum
import uuid

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, MinorUnits, SerialKey, UUIDKey, db_enum


class TransferKind(enum.StrEnum):
    DEPOSIT = "deposit"
    TAP = "tap"


class Direction(enum.StrEnum):
    """Which way a transfer moved one account's money: from its entry's sign."""

    CREDIT = "credit"
    DEBIT = "debit"


class Transfer(db.Model):
    """Money moved from one account to another: always exactly two entries summing to zero."""

    __tablename__ = "transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("debit_account_id <> credit_account_id", name="distinct_accounts"),
        CheckConstraint("(kind = 'tap') = (tap_key IS NOT NULL)", name="tap_key_iff_tap"),
    )

    id: Mapped[UUIDKey]
    kind: Mapped[TransferKind] = mapped_column(db_enum(TransferKind, "transfer_kind"))
    tap_key: Mapped[uuid.UUID | None] = mapped_column(unique=True)
    debit_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    credit_account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(String(3))
    memo: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]

    entries: Mapped[list["Entry"]] = relationship(back_populates="transfer", lazy="raise")


class Entry(db.Model):
    """One side of a transfer on one account, with the balance it left. Never changed."""

    __tablename__ = "entries"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        Index("ix_entries_account_id_id", "account_id", "id"),
    )

    id: Mapped[SerialKey]
    transfer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("transfers.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    amount: Mapped[MinorUnits]
    balance_after: Mapped[MinorUnits]
    created_at: Mapped[CreatedAt]

    transfer: Mapped[Transfer] = relationship(back_populates="entries", lazy="raise")
