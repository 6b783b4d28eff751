"""Amounts typed by people: decimal major units, converted exactly to minor units."""

from decimal import Decimal, InvalidOperation

import click

# ISO 4217 currencies whose minor unit is not the usual hundredth.
MINOR_DIGITS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
    "OMR": 3,
    "TND": 3,
    "LYD": 3,
    "IQD": 3,
}


def minor_digits(currency: str) -> int:
    """How many decimals the currency's minor unit has."""
    return MINOR_DIGITS.get(currency.upper(), 2)


def to_minor_units(text: str, currency: str) -> int:
    """Parse '12.50' as 1250 minor units, exactly; refuse extra decimals, signs and junk."""
    digits = minor_digits(currency)
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise click.BadParameter(f"{text!r} is not a number like 12.50") from None
    if not amount.is_finite() or amount < 0:
        raise click.BadParameter(f"{text!r} must be a positive amount")
    if amount.as_tuple().exponent < -digits:
        raise click.BadParameter(f"{text!r} has more than {digits} decimals for {currency}")
    return int(amount.scaleb(digits))


def from_minor_units(amount: int, currency: str) -> str:
    """Format minor units as major units: 1250 USD is '12.50'."""
    digits = minor_digits(currency)
    return f"{Decimal(amount).scaleb(-digits):.{digits}f}"
