"""What the accounts routes take and give."""

import marshmallow as ma

from tapbank.api.fields import (
    Currency,
    LegacyUserId,
    MinorUnits,
    Text,
    chosen_enum,
    page_schema,
    shown_enum,
)
from tapbank.ledger.accounts import MAX_DEPOSIT_MINOR, OPENABLE_TYPES
from tapbank.models import AccountStatus, AccountType, Direction, TransferKind


class AccountCreateSchema(ma.Schema):
    owner_name = Text(
        required=True,
        blank=False,
        validate=ma.validate.Length(min=1, max=200),
        metadata={"example": "Ada"},
    )
    account_type = chosen_enum(OPENABLE_TYPES, load_default=AccountType.CHECKING.value)
    bank_name = Text(
        load_default="tapbank", blank=False, validate=ma.validate.Length(min=1, max=200)
    )
    currency = Currency(load_default=None)
    opening_deposit = MinorUnits(minimum=0, maximum=MAX_DEPOSIT_MINOR, load_default=0)
    legacy_user_id = LegacyUserId(
        load_default=None,
        allow_none=True,
        metadata={"description": "The user id AISBackend's clients know the account by."},
    )


class AccountSchema(ma.Schema):
    id = ma.fields.UUID()
    account_number = ma.fields.String()
    owner_name = ma.fields.String()
    account_type = shown_enum(OPENABLE_TYPES)
    bank_name = ma.fields.String()
    currency = ma.fields.String()
    balance = ma.fields.Integer(metadata={"description": "Minor units."})
    status = shown_enum(AccountStatus)
    created_at = ma.fields.AwareDateTime()
    legacy_user_id = ma.fields.Integer(
        allow_none=True, metadata={"description": "AISBackend's user id, or null."}
    )


class AccountCreatedSchema(ma.Schema):
    account = ma.fields.Nested(AccountSchema)
    api_key = ma.fields.String(
        allow_none=True,
        metadata={
            "description": "Shown this once; store it now. Null when the answer is replayed "
            "for a repeated Idempotency-Key: keys are never stored in the clear (rotate a lost "
            "one)."
        },
    )


class AccountPatchSchema(ma.Schema):
    status = chosen_enum(AccountStatus, required=True)


class DepositSchema(ma.Schema):
    amount = MinorUnits(minimum=1, maximum=MAX_DEPOSIT_MINOR, required=True)
    memo = Text(load_default=None, validate=ma.validate.Length(max=500))


class TransferSchema(ma.Schema):
    id = ma.fields.UUID()
    kind = shown_enum(TransferKind)
    debit_account_id = ma.fields.UUID()
    credit_account_id = ma.fields.UUID()
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    memo = ma.fields.String(allow_none=True)
    tap_key = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.AwareDateTime()


class ApiKeySchema(ma.Schema):
    api_key = ma.fields.String(metadata={"description": "Shown this once; the old key is void."})


class HistoryItemSchema(ma.Schema):
    transfer_id = ma.fields.UUID()
    kind = shown_enum(TransferKind)
    direction = shown_enum(Direction)
    amount = ma.fields.Integer(metadata={"description": "Minor units, always positive."})
    currency = ma.fields.String()
    counterparty_account_id = ma.fields.UUID()
    memo = ma.fields.String(allow_none=True)
    tap_key = ma.fields.UUID(allow_none=True)
    balance_after = ma.fields.Integer()
    created_at = ma.fields.AwareDateTime()


AccountPageSchema = page_schema(AccountSchema, "AccountPageSchema")
HistoryPageSchema = page_schema(HistoryItemSchema, "HistoryPageSchema")
