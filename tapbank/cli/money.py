"""Amounts typed by people: decimal major units, converted exactly to minor units."""

from decimal import Decimal, InvalidOperation

import click

from tapbank.currencies import in_major_units, minor_digits


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
    return f"{in_major_units(amount, currency):.{minor_digits(currency)}f}"
