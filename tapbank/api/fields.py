"""Fields shared by the resource schemas: money, currency, enums and list arguments."""

import enum
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import marshmallow as ma
from flask import current_app

from tapbank.models.accounts import LEGACY_USER_ID_MAX

# A tap key travels over NFC and may be overheard: it must not be guessable (no nil UUID, no
# time-and-host version 1).
RANDOM_KEY_VERSIONS = (4, 7)
NOT_A_RANDOM_KEY = "Must be a random UUID: version 4 or 7."


class TapKey(ma.fields.UUID):
    """A tap key in a body: a random UUID, version 4 or 7, as the tap routes' path takes."""

    def _deserialize(self, value, attr, data, **kwargs):
        key = super()._deserialize(value, attr, data, **kwargs)
        if key.version not in RANDOM_KEY_VERSIONS:
            raise ma.ValidationError(NOT_A_RANDOM_KEY)
        return key


class MinorUnits(ma.fields.Integer):
    """An amount in minor units: a JSON integer only (no float, string or boolean)."""

    def __init__(self, *, minimum: int = 1, maximum: int | None = None, **kwargs) -> None:
        self.minimum = minimum
        self.maximum = maximum
        metadata = {"description": "Integer minor units: 1250 is 12.50.", "minimum": minimum}
        if maximum is not None:
            metadata["maximum"] = maximum
        metadata.update(kwargs.pop("metadata", {}))
        super().__init__(strict=True, metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> int:
        amount = super()._deserialize(value, attr, data, **kwargs)
        maximum = self.maximum or current_app.config["TAPBANK_MAX_TRANSFER_MINOR"]
        if not self.minimum <= amount <= maximum:
            raise ma.ValidationError(f"Must be between {self.minimum} and {maximum}.")
        return amount


def configured_maximum(maximum: int) -> Callable:
    """An apispec attribute function: a tap amount documents the app's own maximum."""

    def tap_amount_maximum(converter, field, **kwargs) -> dict:
        if isinstance(field, MinorUnits) and field.maximum is None:
            return {"maximum": maximum}
        return {}

    return tap_amount_maximum


def transfer_amount(**kwargs) -> MinorUnits:
    """A tap's amount: 1 to TAPBANK_MAX_TRANSFER_MINOR."""
    return MinorUnits(
        minimum=1,
        metadata={
            # The document's maximum is the app's own setting: see configured_maximum.
            "description": "Integer minor units, 1 to the server's TAPBANK_MAX_TRANSFER_MINOR.",
            "example": 1250,
        },
        **kwargs,
    )


class LegacyUserId(ma.fields.Integer):
    """An AISBackend user id: a JSON integer from 1 to 2^53 - 1."""

    def __init__(self, **kwargs) -> None:
        metadata = {"example": 1234567890, **kwargs.pop("metadata", {})}
        super().__init__(
            strict=True,
            validate=ma.validate.Range(min=1, max=LEGACY_USER_ID_MAX),
            metadata=metadata,
            **kwargs,
        )


class Currency(ma.fields.String):
    """An ISO 4217 code: three capital letters."""

    def __init__(self, **kwargs) -> None:
        metadata = {"description": "ISO 4217 code", "example": "USD", "pattern": "^[A-Z]{3}$"}
        super().__init__(
            # \Z, not $: "$" also matches before a trailing newline ("USD\n").
            validate=ma.validate.Regexp(r"^[A-Z]{3}\Z", error="Must be a 3-letter ISO 4217 code."),
            metadata=metadata,
            **kwargs,
        )


class Text(ma.fields.String):
    """A string PostgreSQL can store (UTF-8, no NUL character); with blank=False, not only
    spaces."""

    def __init__(self, *, blank: bool = True, **kwargs) -> None:
        self.blank = blank
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError("Must not contain a NUL character.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can make
            raise ma.ValidationError("Must be text that UTF-8 can carry.") from None
        if not self.blank and not text.strip():
            raise ma.ValidationError("Must not be blank.")
        return text


class UtcDateTime(ma.fields.AwareDateTime):
    """An RFC 3339 time with its offset, held in UTC; it must fall in the years 1 to 9999 there."""

    def _deserialize(self, value, attr, data, **kwargs) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(UTC)
        except OverflowError as error:
            raise ma.ValidationError("Must fall in the years 1 to 9999 in UTC.") from error


def enum_values(members: Iterable[enum.StrEnum]) -> list[str]:
    """The values of these enum members, in their order."""
    return [member.value for member in members]


def shown_enum(members: Iterable[enum.StrEnum], **kwargs) -> ma.fields.String:
    """A string the API shows, documented with exactly these members' values."""
    metadata = {"enum": enum_values(members), **kwargs.pop("metadata", {})}
    return ma.fields.String(metadata=metadata, **kwargs)


def chosen_enum(members: Iterable[enum.StrEnum], **kwargs) -> ma.fields.String:
    """A string the API takes, one of these members' values (documented by the validator)."""
    return ma.fields.String(validate=ma.validate.OneOf(enum_values(members)), **kwargs)


class ListArgsSchema(ma.Schema):
    """?limit= and ?cursor= on every list."""

    limit = ma.fields.Integer(
        load_default=50, validate=ma.validate.Range(min=1, max=200), metadata={"example": 50}
    )
    cursor = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(max=200),
        metadata={"description": "next_cursor from the previous page."},
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope {items, next_cursor} for one kind of item."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(required=True, allow_none=True),
        },
    )
