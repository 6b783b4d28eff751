"""What AISBackend's clients send: amounts in major units, integer user ids, the phone's clock."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import marshmallow as ma

from tapbank.api.fields import LegacyUserId, TapKey, Text
from tapbank.api.taps.schemas import DEVICE_OS_LENGTH

# Python's str(datetime.now()) ("2026-11-30 07:11:45.123456", the fraction absent at a whole
# second), or RFC 3339; a date alone is not a moment.
PHONE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
)


class MajorUnits(ma.fields.Decimal):
    """An amount in major units exactly as the JSON number was written (12.5), more than zero;
    never a float, string or boolean. Whether it fits the currency is the account's to say."""

    def __init__(self, **kwargs) -> None:
        metadata = {
            "description": "Major units, as a JSON number: 12.5 is 12.50. Read exactly, never "
            "rounded: more decimals than the account's currency has is a 422.",
            "example": 12.5,
            "exclusiveMinimum": 0,
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> Decimal:
        # The parser makes every JSON number an int or a Decimal; a float here is NaN or Infinity.
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ma.ValidationError("Must be a JSON number of major units, such as 12.5.")
        amount = Decimal(value)
        if not amount > 0:
            raise ma.ValidationError("Must be more than zero.")
        return amount


class PhoneTime(ma.fields.String):
    """The phone's clock as Python's str(datetime.now()) writes it, or RFC 3339; without an
    offset it is read as UTC. Held in UTC."""

    def __init__(self, **kwargs) -> None:
        metadata = {
            "description": "The phone's own clock: 2026-11-30 07:11:45.123456 (read as UTC) or "
            "RFC 3339 with an offset. Kept, never trusted.",
            "example": "2026-11-30 07:11:45.123456",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not PHONE_TIME.match(text):
            raise ma.ValidationError("Must be a time such as 2026-11-30 07:11:45.123456.")
        try:
            moment = datetime.fromisoformat(text)
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC)
            return moment.astimezone(UTC)
        except (ValueError, OverflowError):
            raise ma.ValidationError("Must be a real time in the years 1 to 9999 UTC.") from None


def device_os(**kwargs) -> Text:
    """The phone's platform string (platform.platform()), 1 to 255 characters."""
    return Text(
        required=True,
        validate=ma.validate.Length(min=1, max=DEVICE_OS_LENGTH),
        metadata={"example": "Linux-6.8.0-1015-x86_64-with-glibc2.39"},
        **kwargs,
    )


class LegacySendSchema(ma.Schema):
    """The payer's half as AISBackend's phone sends it; the payer is the key's account."""

    key = TapKey(required=True, metadata={"description": "The tap key, UUID version 4 or 7."})
    user_id = LegacyUserId(
        required=True, metadata={"description": "The caller's own legacy_user_id."}
    )
    transfer_amount = MajorUnits(required=True)
    os_sender = device_os()
    transaction_time = PhoneTime(required=True)


class LegacyReceiveSchema(ma.Schema):
    """The payee's half as AISBackend's phone sends it: whom it expects to pay, and how much."""

    key = TapKey(required=True, metadata={"description": "The tap key, UUID version 4 or 7."})
    user_id = LegacyUserId(
        required=True, metadata={"description": "The caller's own legacy_user_id."}
    )
    sender_id = LegacyUserId(
        required=True, metadata={"description": "The legacy_user_id of the expected payer."}
    )
    expected_amount = MajorUnits(required=True)
    os_receiver = device_os()
