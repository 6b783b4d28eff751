"""Reading a legacy body with its numbers exact: 12.5 stays the decimal 12.5, never a float."""

import json
from decimal import Decimal, InvalidOperation

import flask
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from tapbank.api.base import Blueprint


class ExactNumbersParser(FlaskParser):
    """webargs' Flask parser, reading a JSON number with a fraction or an exponent as a Decimal
    made from the number's own text (a whole number stays an int)."""

    def _raw_load_json(self, req: flask.Request) -> object:
        if not is_json_request(req):
            return core.missing
        # Decoded as webargs does, so that bytes which are not UTF-8 are its 400 too.
        text = req.get_data(cache=True).decode("utf-8")
        return json.loads(text, parse_float=_exact_decimal, parse_int=_whole_number)


# A number no decimal or int can hold is no amount: NaN stands for it, which every amount field
# refuses with a 422 naming itself, instead of an exception the parser does not expect.
UNREADABLE_NUMBER = float("nan")


def _exact_decimal(text: str) -> Decimal | float:
    """The number's own text as a Decimal; an exponent past any decimal's is unreadable."""
    try:
        return Decimal(text)
    except InvalidOperation:
        return UNREADABLE_NUMBER


def _whole_number(text: str) -> int | float:
    """The number as an int; one with more digits than Python reads (4,300) is unreadable."""
    try:
        return int(text)
    except ValueError:
        return UNREADABLE_NUMBER


class ExactNumbersBlueprint(Blueprint):
    """A blueprint whose routes read their bodies with ExactNumbersParser."""

    ARGUMENTS_PARSER = ExactNumbersParser()
