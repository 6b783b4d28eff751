"""Taps: each phone PUTs its half; either party reads the outcome."""

import uuid

from flask.views import MethodView

from tapbank.api.base import Blueprint
from tapbank.api.fields import NOT_A_RANDOM_KEY, RANDOM_KEY_VERSIONS
from tapbank.api.taps.presenting import present_tap
from tapbank.api.taps.schemas import TapReceiverSchema, TapSchema, TapSenderSchema
from tapbank.api.taps.taking import take_and_present
from tapbank.auth import account_key, authenticate, key_names_no_account
from tapbank.errors import ApiError
from tapbank.extensions import db
from tapbank.models import Side
from tapbank.taps.intake import HalfSubmission, KeyNamesNoAccount
from tapbank.taps.records import read_tap

blp = Blueprint("taps", __name__, description="The two halves of a tap, and its outcome.")

RANDOM_KEY = {
    "in": "path",
    "name": "key",
    "required": True,
    "description": "The tap key: a random UUID, version 4 or 7; any other version is a 422.",
    # A pattern alone, not format uuid as well: generators of test cases honour the one pattern.
    "schema": {
        "type": "string",
        "pattern": "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[47][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
        "-[0-9a-fA-F]{12}$",
    },
}


def _visible_tap(key: uuid.UUID) -> dict:
    principal = authenticate()
    record = read_tap(db.session, key)
    if record is None or not (principal.is_admin or principal.account_id in record.parties):
        raise ApiError(404, "tap_not_found", "No tap with this key for this key holder.")
    return present_tap(record)


def _put_half(key: uuid.UUID, side: Side, fields: dict):
    if key.version not in RANDOM_KEY_VERSIONS:
        raise ApiError(
            422,
            "validation_failed",
            "Invalid fields: key.",
            errors={"key": [NOT_A_RANDOM_KEY]},
        )
    # The key's account is looked up by the statement that takes the half.
    digest = account_key()
    submission = HalfSubmission(
        tap_key=key,
        side=side,
        account_id=None,  # the account the key names: take_half() looks it up
        sender_account_id=fields.get("sender_account_id"),
        amount=fields["amount"],
        currency=fields["currency"],
        device_os=fields["device"]["os"],
        device_model=fields["device"]["model"],
        tapped_at=fields["tapped_at"],
        receiver_account_id=fields.get("receiver_account_id"),
    )
    try:
        return take_and_present(submission, key_digest=digest)
    except KeyNamesNoAccount:
        key_names_no_account()
        raise


@blp.route("/taps/<uuid:key>/sender", parameters=[RANDOM_KEY])
class SenderHalf(MethodView):
    @blp.account_key_looked_up_by_view
    @blp.arguments(
        TapSenderSchema,
        example={
            "amount": 1250,
            "currency": "USD",
            "device": {"os": "ios", "model": "iPhone 16"},
            "tapped_at": "2026-11-26T12:00:00.120Z",
            "receiver_account_id": "0b6f2e4c-3f1a-4c55-8d7e-9a1b2c3d4e5f",
        },
    )
    @blp.response(201, TapSchema, description="The half is recorded; the tap as it now stands.")
    @blp.alt_response(200, schema=TapSchema, description="The same half again: the same tap.")
    @blp.alt_response(409, response="CONFLICT", description="Another half for this key and side.")
    def put(self, fields, key):
        """Send the payer's half: the authenticated account pays."""
        return _put_half(key, Side.SENDER, fields)


@blp.route("/taps/<uuid:key>/receiver", parameters=[RANDOM_KEY])
class ReceiverHalf(MethodView):
    @blp.account_key_looked_up_by_view
    @blp.arguments(
        TapReceiverSchema,
        example={
            "sender_account_id": "5d1e1c4e-8f43-4a57-9d4b-2f8f0f5c1a10",
            "amount": 1250,
            "currency": "USD",
            "device": {"os": "android", "model": "Pixel 9"},
            "tapped_at": "2026-11-26T12:00:00.350Z",
        },
    )
    @blp.response(201, TapSchema, description="The half is recorded; the tap as it now stands.")
    @blp.alt_response(200, schema=TapSchema, description="The same half again: the same tap.")
    @blp.alt_response(
        409,
        response="CONFLICT",
        description="Another half for this key and side (`half_conflict`), or the payer named "
        "another account as the payee (`receiver_not_named`).",
    )
    def put(self, fields, key):
        """Send the payee's half: whom it expects to pay it, and how much."""
        return _put_half(key, Side.RECEIVER, fields)


@blp.route("/taps/<uuid:key>")
class TapByKey(MethodView):
    @blp.authenticated_or_api_key
    @blp.response(200, TapSchema)
    def get(self, key):
        """Read a tap: either party or the operator."""
        return _visible_tap(key)
