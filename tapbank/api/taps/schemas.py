"""What the tap routes take and give."""

import marshmallow as ma

from tapbank.api.fields import Currency, Text, UtcDateTime, shown_enum, transfer_amount
from tapbank.models import HalfStatus, TapStatus
from tapbank.taps.reasons import LEGACY_CODES, Reason

EXAMPLE_TIME = "2026-11-26T12:00:00.120Z"
# Room for what Python's platform.platform() prints, which AISBackend's phones send as their OS.
DEVICE_OS_LENGTH = 255


class DeviceSchema(ma.Schema):
    os = Text(
        required=True,
        validate=ma.validate.Length(min=1, max=DEVICE_OS_LENGTH),
        metadata={"example": "android"},
    )
    model = Text(
        load_default=None,
        allow_none=True,
        validate=ma.validate.Length(min=1, max=100),
        metadata={"example": "Pixel 9"},
    )


class HalfBodySchema(ma.Schema):
    """What both halves say: the amount, its currency, the phone and its clock."""

    amount = transfer_amount(required=True)
    currency = Currency(required=True)
    device = ma.fields.Nested(DeviceSchema, required=True)
    tapped_at = UtcDateTime(
        required=True,
        metadata={
            "description": "The phone's own clock, RFC 3339; kept, never trusted.",
            "example": EXAMPLE_TIME,
        },
    )


class TapSenderSchema(HalfBodySchema):
    """The payer's half: the payer is the authenticated account."""

    receiver_account_id = ma.fields.UUID(
        load_default=None,
        metadata={
            "description": "The payee this tap is bound to (optional): a receiver half from any "
            "other account gets 409 `receiver_not_named`, or, when it came first, the pair fails "
            "as `receiver_mismatch`.",
            "example": "0b6f2e4c-3f1a-4c55-8d7e-9a1b2c3d4e5f",
        },
    )


class TapReceiverSchema(HalfBodySchema):
    """The payee's half: whom it expects to pay it, and how much."""

    sender_account_id = ma.fields.UUID(
        required=True, metadata={"example": "5d1e1c4e-8f43-4a57-9d4b-2f8f0f5c1a10"}
    )


class HalfSchema(ma.Schema):
    account_id = ma.fields.UUID(metadata={"description": "The account that sent this half."})
    sender_account_id = ma.fields.UUID(
        metadata={"description": "The payer: the sender itself, or whom the receiver expects."}
    )
    receiver_account_id = ma.fields.UUID(
        allow_none=True,
        metadata={"description": "The payee the sender half bound the tap to; null if none."},
    )
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    device = ma.fields.Nested(DeviceSchema)
    tapped_at = ma.fields.AwareDateTime()
    received_at = ma.fields.AwareDateTime(metadata={"description": "The server's clock."})
    status = shown_enum(HalfStatus)


class TapTransferSchema(ma.Schema):
    id = ma.fields.UUID()
    sender_account_id = ma.fields.UUID()
    receiver_account_id = ma.fields.UUID()
    amount = ma.fields.Integer()
    currency = ma.fields.String()
    settled_at = ma.fields.AwareDateTime()


class ReasonSchema(ma.Schema):
    reason = shown_enum(Reason)
    legacy_code = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "The legacy numeric code where the reason has one: "
            + ", ".join(f"{reason.value} {code}" for reason, code in LEGACY_CODES.items())
            + "."
        },
    )


class FailureSchema(ma.Schema):
    reasons = ma.fields.List(ma.fields.Nested(ReasonSchema))
    message = ma.fields.String()
    failed_at = ma.fields.AwareDateTime()


class TapSchema(ma.Schema):
    key = ma.fields.UUID()
    status = shown_enum(TapStatus)
    sender = ma.fields.Nested(HalfSchema, allow_none=True)
    receiver = ma.fields.Nested(HalfSchema, allow_none=True)
    transfer = ma.fields.Nested(TapTransferSchema, allow_none=True)
    failure = ma.fields.Nested(FailureSchema, allow_none=True)
