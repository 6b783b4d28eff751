"""AISBackend's two routes: each phone POSTs its half as AISBackend took it; deprecated."""

from collections.abc import Callable

from flask.views import MethodView

from tapbank.api.legacy.exact_json import ExactNumbersBlueprint
from tapbank.api.legacy.halves import caller_claiming, receiver_half, sender_half
from tapbank.api.legacy.schemas import LegacyReceiveSchema, LegacySendSchema
from tapbank.api.taps.schemas import TapSchema
from tapbank.api.taps.taking import take_and_present
from tapbank.auth import authenticate
from tapbank.extensions import db

blp = ExactNumbersBlueprint(
    "aisbackend",
    __name__,
    description="AISBackend's client API, for its phones: deprecated, use the taps routes.",
)


# What both routes answer, as the document shows it, and their deprecation: innermost first.
HALF_ANSWERS = (
    blp.doc(deprecated=True),
    blp.alt_response(
        409,
        response="CONFLICT",
        description="Another half for this key and side (`half_conflict`), or the payer named "
        "another account as the payee (`receiver_not_named`).",
    ),
    blp.alt_response(
        403, response="FORBIDDEN", description="user_id_mismatch: user_id is not the caller's."
    ),
    blp.alt_response(200, schema=TapSchema, description="The same half again: the same tap."),
    blp.response(201, TapSchema, description="The half is recorded; the tap as it now stands."),
)


def answered_as_a_half(view: Callable) -> Callable:
    """Document a route's answers (a v1 half's, and 403 user_id_mismatch) and deprecation."""
    for document in HALF_ANSWERS:
        view = document(view)
    return view


@blp.route("/send/")
class LegacySend(MethodView):
    @blp.account_only_or_api_key
    @blp.arguments(
        LegacySendSchema,
        example={
            "key": "3f6c2b9e-7a41-4d0c-9e55-0b8f3a1d2c47",
            "user_id": 1234567890,
            "transfer_amount": 12.5,
            "os_sender": "Linux-6.8.0-1015-x86_64-with-glibc2.39",
            "transaction_time": "2026-11-30 07:11:45.123456",
        },
    )
    @answered_as_a_half
    def post(self, fields):
        """AISBackend's payer's half: as PUT /taps/{key}/sender."""
        caller = caller_claiming(db.session, authenticate().account_id, fields["user_id"])
        return take_and_present(sender_half(caller, fields))


@blp.route("/recieve/")
class LegacyReceive(MethodView):
    @blp.account_only_or_api_key
    @blp.arguments(
        LegacyReceiveSchema,
        example={
            "key": "3f6c2b9e-7a41-4d0c-9e55-0b8f3a1d2c47",
            "user_id": 2234567890,
            "sender_id": 1234567890,
            "expected_amount": 12.5,
            "os_receiver": "Linux-6.8.0-1015-x86_64-with-glibc2.39",
        },
    )
    @answered_as_a_half
    def post(self, fields):
        """AISBackend's payee's half (the path is spelled so): as PUT /taps/{key}/receiver."""
        caller = caller_claiming(db.session, authenticate().account_id, fields["user_id"])
        return take_and_present(receiver_half(db.session, caller, fields))
