"""Taps: the pair record and its outcome, the two halves the phones sent, and why a tap failed.

A half is kept exactly as received and never changed; its tap carries how the pair ended. The
taps not yet ended are also queued in a small table of their own, which the reconcilers read, so
ending a tap rewrites only its own row, in place.
"""

import enum
import uuid

from sqlalchemy import ARRAY, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, MinorUnits, SerialKey, Timestamp, UUIDKey, db_enum


class TapStatus(enum.StrEnum):
    AWAITING_SENDER = "awaiting_sender"
    AWAITING_RECEIVER = "awaiting_receiver"
    MATCHED = "matched"
    SETTLED = "settled"
    FAILED = "failed"


class Side(enum.StrEnum):
    SENDER = "sender"
    RECEIVER = "receiver"


class HalfStatus(enum.StrEnum):
    """How a half stands: derived from its tap, never stored (a half is never changed)."""

    PENDING = "pending"
    SETTLED = "settled"
    FAILED = "failed"


class Failure(db.Model):
    """Why a tap did not settle: every reason that applied."""

    __tablename__ = "failures"

    id: Mapped[UUIDKey]
    tap_key: Mapped[uuid.UUID] = mapped_column(unique=True)
    reasons: Mapped[list[str]] = mapped_column(ARRAY(String(40)))
    message: Mapped[str] = mapped_column(String(500))
    failed_at: Mapped[CreatedAt]


class Tap(db.Model):
    """One key's pairing state and outcome; the row reconcilers lock to take a pair."""

    __tablename__ = "taps"
    __table_args__ = (
        CheckConstraint(
            "(status = 'settled') = (transfer_id IS NOT NULL)", name="settled_iff_transfer"
        ),
        CheckConstraint(
            "(status = 'failed') = (failure_id IS NOT NULL)", name="failed_iff_failure"
        ),
        # Only the key is indexed, and room is left on every page, so matching and ending a tap
        # are HOT updates: no index entry is written for either (0004).
        {"postgresql_with": {"fillfactor": 40}},
    )

    key: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    status: Mapped[TapStatus] = mapped_column(db_enum(TapStatus, "tap_status"))
    created_at: Mapped[CreatedAt]
    matched_at: Mapped[Timestamp | None]
    ended_at: Mapped[Timestamp | None]
    # One tap, one outcome: transfers.tap_key and failures.tap_key are unique.
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("transfers.id"))
    failure_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("failures.id"))


class QueuedTap(db.Model):
    """A tap not yet ended: awaiting its second half (matched_at null), or matched; a matched
    pair that failed alone, or met a held account, is set aside until retry_at."""

    __tablename__ = "tap_queue"
    __table_args__ = (
        Index(
            "ix_tap_queue_matched",
            "matched_at",
            "tap_key",
            postgresql_where="matched_at IS NOT NULL AND retry_at IS NULL",
        ),
        Index("ix_tap_queue_awaiting", "created_at", postgresql_where="matched_at IS NULL"),
        Index("ix_tap_queue_set_aside", "retry_at", postgresql_where="retry_at IS NOT NULL"),
    )

    tap_key: Mapped[uuid.UUID] = mapped_column(ForeignKey("taps.key"), primary_key=True)
    created_at: Mapped[CreatedAt]
    matched_at: Mapped[Timestamp | None]
    retry_at: Mapped[Timestamp | None]
    set_aside_at: Mapped[Timestamp | None]
    attempts: Mapped[int] = mapped_column(server_default="0", default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))


class Half(db.Model):
    """What one phone sent for a tap, exactly as received; never changed."""

    __tablename__ = "halves"
    __table_args__ = (
        UniqueConstraint("tap_key", "side", name="uq_halves_tap_key_side"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "side = 'receiver' OR sender_account_id = account_id", name="sender_is_the_payer"
        ),
        CheckConstraint(
            "side = 'sender' OR receiver_account_id IS NULL",
            name="only_the_sender_names_the_payee",
        ),
    )

    id: Mapped[SerialKey]
    tap_key: Mapped[uuid.UUID] = mapped_column(ForeignKey("taps.key"))
    side: Mapped[Side] = mapped_column(db_enum(Side, "tap_side"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    # The payer: the sender's own account, or whom the receiver expects to pay it.
    sender_account_id: Mapped[uuid.UUID]
    # The payee a sender half binds the tap to (contract v2); null: any payee may pair with it.
    receiver_account_id: Mapped[uuid.UUID | None]
    amount: Mapped[MinorUnits]
    currency: Mapped[str] = mapped_column(String(3))
    device_os: Mapped[str] = mapped_column(String(255))
    device_model: Mapped[str | None] = mapped_column(String(100))
    tapped_at: Mapped[Timestamp]
    received_at: Mapped[CreatedAt]
