"""Idempotency-Key as HTTP: the header, the scope a request's key counts in, and replays."""

import re
from collections.abc import Callable, Iterable

import marshmallow as ma
from flask import Response, jsonify, request, url_for

from tapbank.auth import authenticate
from tapbank.extensions import db
from tapbank.idempotency import Answer, Scope, claim, record, request_digest

HEADER = "Idempotency-Key"
PRINTABLE_ASCII = re.compile(r"[ -~]{1,255}\Z")


class IdempotencyKeyHeaderSchema(ma.Schema):
    key = ma.fields.String(
        data_key=HEADER,
        validate=ma.validate.Regexp(
            PRINTABLE_ASCII, error="Must be 1 to 255 printable ASCII characters."
        ),
        metadata={
            "description": "1 to 255 printable ASCII characters. The first request with a key "
            "runs; the same request again (same caller, method, path and JSON body) gets the "
            "first answer again, with the header Idempotent-Replayed: true, for at least 24 "
            "hours, and nothing is done twice. The same key with another body is a 422 "
            "idempotency_key_reused; a repeat while the first still runs waits for it (up to "
            "the lock timeout, a second by default), then gets 409 idempotency_key_in_use.",
            "pattern": "^[ -~]{1,255}$",
            "example": "7b0c7f2e-open-ada",
        },
    )


def answer_once(
    run_view: Callable[[], Response], key: str | None, withheld: Iterable[str]
) -> Response:
    """Run the view and commit its work with its answer: with a key, once per key, its answer
    (the withheld fields null) given again to every repeat. A refusal the view raises rolls
    back both, so the key stays free and a repeat runs again."""
    if key is None:
        response = run_view()
        db.session.commit()
        return response
    scope = Scope(authenticate().caller, request.method, _canonical_path(), key)
    body = request.get_json(silent=True)
    stored = claim(db.session, scope, request_digest({} if body is None else body))
    if stored is not None:
        return _replayed(stored)
    response = run_view()
    kept = {**response.get_json(), **dict.fromkeys(withheld)}
    record(db.session, scope, Answer(response.status_code, kept))
    db.session.commit()
    return response


def _canonical_path() -> str:
    """The path as the app writes it: an id in capitals is the same resource as in lower case."""
    return url_for(request.endpoint, **(request.view_args or {}))


def _replayed(answer: Answer) -> Response:
    response = jsonify(answer.body)
    response.status_code = answer.status
    response.headers["Idempotent-Replayed"] = "true"
    return response
