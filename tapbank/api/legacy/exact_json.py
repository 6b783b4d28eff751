"""Reading a legacy body with its numbers exact: 12.5 stays the decimal 12.5, never a float."""

import json
from decimal import Decimal

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
        return json.loads(req.get_data(cache=True).decode("utf-8"), parse_float=Decimal)


class ExactNumbersBlueprint(Blueprint):
    """A blueprint whose routes read their bodies with ExactNumbersParser."""

    ARGUMENTS_PARSER = ExactNumbersParser()
