"""Customer accounts and the bank's funding account."""

import enum
import uuid

from sqlalchemy import BigInteger, CheckConstraint, String, text
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, MinorUnits, Timestamp, UUIDKey, db_enum

# The bank's own accounts, one per currency: deposits are transfers from them, so their
# balances go negative. The USD one is made by the first migration; others on first use.
FUNDING_ACCOUNT_ID = uuid.UUID("00000000-0000-0000-0000-000000000001")
_FUNDING_NAMESPACE = uuid.UUID("6f1c9a52-3d0e-4f57-9a51-0c4b7f1e2d10")


def funding_account_id(currency: str) -> uuid.UUID:
    """The id of the bank's funding account in this currency."""
    if currency == "USD":
        return FUNDING_ACCOUNT_ID
    return uuid.uuid5(_FUNDING_NAMESPACE, currency)


# AISBackend's user ids had 10 to 12 digits. Any whole number from 1 that every JSON client holds
# exactly is taken (the bigint column holds more).
LEGACY_USER_ID_MAX = 2**53 - 1


class AccountType(enum.StrEnum):
    CHECKING = "checking"
    SAVINGS = "savings"
    FUNDING = "funding"


class AccountStatus(enum.StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"


class Account(db.Model):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "account_type = 'funding' OR balance >= 0", name="customer_balance_not_negative"
        ),
        CheckConstraint("legacy_user_id > 0", name="legacy_user_id_positive"),
        # Room on every page for each row's next balance: a HOT update, no index entry (0005).
        {"postgresql_with": {"fillfactor": 50}},
    )

    id: Mapped[UUIDKey]
    account_number: Mapped[str] = mapped_column(
        String(20),
        unique=True,
        server_default=text("lpad(nextval('account_number_seq')::text, 10, '0')"),
    )
    owner_name: Mapped[str] = mapped_column(String(200))
    account_type: Mapped[AccountType] = mapped_column(db_enum(AccountType, "account_type"))
    bank_name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[MinorUnits] = mapped_column(default=0)
    status: Mapped[AccountStatus] = mapped_column(
        db_enum(AccountStatus, "account_status"), default=AccountStatus.ACTIVE
    )
    api_key_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The integer user id AISBackend's clients name the account by (its user_id and sender_id).
    legacy_user_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[Timestamp | None]
