"""Currencies' minor units: how many decimals each has, and amounts in major units made exact."""

from decimal import Decimal

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


def in_major_units(minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal of major units: 1250 USD is 12.50."""
    return Decimal(minor).scaleb(-minor_digits(currency))


def whole_minor_units(major: Decimal, currency: str) -> int | None:
    """A Decimal of major units in minor units, exactly, or None when its value needs more
    decimals than the currency has (0.125 USD). Trailing zeros carry no value: 12.500 USD is 1250.

    The result is built from the digits, never rounded. Check the amount against a maximum
    first: 1E+999999 is a valid Decimal, and an integer a million digits long.
    """
    _, figures, exponent = major.as_tuple()
    coefficient = "".join(map(str, figures)).rstrip("0") or "0"
    exponent += len(figures) - len(coefficient)
    shift = exponent + minor_digits(currency)
    if shift < 0:
        return None
    return int(coefficient) * 10**shift
