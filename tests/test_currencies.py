"""Major units made exact minor units: built from the digits, never rounded, never a float."""

from decimal import Decimal

import pytest

from tapbank.currencies import in_major_units, minor_digits, whole_minor_units


@pytest.mark.parametrize(
    ("major", "currency", "minor"),
    [
        ("12.5", "USD", 1250),
        ("12.50", "USD", 1250),
        ("12.500000", "USD", 1250),
        ("1E+2", "USD", 10000),
        ("0.01", "USD", 1),
        ("0", "USD", 0),
        ("1200", "JPY", 1200),
        ("1200.000", "JPY", 1200),
        ("1.005", "BHD", 1005),
        ("90071992547409.91", "USD", 9007199254740991),
        ("12.5", "usd", 1250),
    ],
)
def test_an_amount_with_no_more_decimals_than_its_currency_is_exact(major, currency, minor):
    assert whole_minor_units(Decimal(major), currency) == minor


@pytest.mark.parametrize(
    ("major", "currency"),
    [
        ("0.125", "USD"),
        ("12.5000000000000000000000000000000000001", "USD"),  # past a Decimal's precision of 28
        ("1E-2000", "USD"),
        ("12.5", "JPY"),
        ("1.0005", "BHD"),
    ],
)
def test_an_amount_that_needs_more_decimals_than_its_currency_has_is_none(major, currency):
    assert whole_minor_units(Decimal(major), currency) is None


def test_minor_units_read_back_as_exact_major_units():
    assert in_major_units(1_000_000, "USD") == Decimal("10000.00")
    assert str(in_major_units(1250, "USD")) == "12.50"
    assert str(in_major_units(1005, "BHD")) == "1.005"
    assert str(in_major_units(1200, "JPY")) == "1200"
    assert minor_digits("kwd") == 3
