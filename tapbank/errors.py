"""Every error as the contract's JSON: code, status, error, message (and errors on a 422)."""

import logging
import uuid
from http import HTTPStatus

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

from tapbank.database_errors import DATABASE_ERRORS, Retryable, retryable, roll_back_quietly
from tapbank.domain_errors import DomainError
from tapbank.extensions import db

log = logging.getLogger(__name__)

DEFAULT_MESSAGES = {
    400: "The request body is not valid JSON.",
    401: "A valid bearer key is required.",
    403: "This key may not use this route.",
    404: "There is nothing at this address.",
    405: "This method is not allowed on this route.",
    409: "This conflicts with what is already recorded.",
    413: "The request body is larger than 16 KiB.",
    422: "The request has invalid fields.",
    429: "Too many failed authentications from this address; retry later.",
}

# A busy answer is given before anything commits; an unreachable database may have dropped the
# connection during a commit, so that answer promises nothing about what was stored.
RETRY_LATER = {
    Retryable.DATABASE_UNAVAILABLE: ("The database cannot be reached right now; retry shortly.", 2),
    Retryable.BUSY: (
        "The database could not take this request in time; nothing was stored, retry shortly.",
        1,
    ),
}


class ApiError(HTTPException):
    """An HTTP error with the contract's snake_case identifier and a human sentence."""

    def __init__(
        self,
        code: int,
        error: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        errors: dict | None = None,
    ) -> None:
        super().__init__(description=message)
        self.code = code
        self.error = error
        self.message = message
        self.extra_headers = headers or {}
        self.errors = errors


def _snake(name: str) -> str:
    return name.lower().replace(" ", "_").replace("-", "_").replace("'", "")


def flatten_field_errors(messages: dict) -> dict:
    """Turn webargs' {location: {field: [...]}} into {field: [...]}."""
    flat: dict = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for field, field_messages in fields.items():
                flat[str(field)] = field_messages
        else:
            flat[location] = fields
    return flat


def error_response(error: HTTPException) -> Response:
    """Render any HTTPException in the contract's shape, keeping its headers (Allow on 405)."""
    code = error.code or 500
    status = _reason(code)
    payload: dict = {"code": code, "status": status}
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    if isinstance(error, ApiError):
        payload["error"] = error.error
        payload["message"] = error.message
        if error.errors is not None:
            payload["errors"] = error.errors
        headers.update(error.extra_headers)
    else:
        data = getattr(error, "data", None) or {}
        payload["error"] = _snake(status)
        payload["message"] = DEFAULT_MESSAGES.get(code, f"{status}.")
        if "messages" in data and code == 400:
            payload["error"] = "invalid_json"
        elif "messages" in data:
            fields = flatten_field_errors(data["messages"])
            payload["error"] = "validation_failed"
            payload["message"] = f"Invalid fields: {', '.join(sorted(fields))}."
            payload["errors"] = fields
        headers.update(data.get("headers") or {})
    if code >= 500:
        payload["request_id"] = g.get("request_id") or uuid.uuid4().hex
    response = jsonify(payload)
    response.status_code = code
    response.headers.update(headers)
    return response


def _reason(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def domain_error_response(error: DomainError) -> Response:
    """A domain refusal as the contract's error: the status and code its class names."""
    db.session.rollback()
    headers = {}
    if error.retry_after_seconds is not None:
        headers["Retry-After"] = str(error.retry_after_seconds)
    answer = ApiError(
        error.http_status,
        error.error_code,
        error.message,
        headers=headers,
        errors=error.field_errors,
    )
    return error_response(answer)


def retry_later(kind: Retryable) -> ApiError:
    """The 503 a client retries after Retry-After: the database out of reach, or busy."""
    message, seconds = RETRY_LATER[kind]
    return ApiError(503, kind.value, message, headers={"Retry-After": str(seconds)})


def database_error_response(error: Exception) -> Response:
    """A database out of reach or busy is a 503 to retry; any other database error is a 500."""
    kind = retryable(error)
    if kind is None:
        return _unexpected(error)
    roll_back_quietly(db.session)
    request_id = _tag_request_id()
    # The driver's own first line only: no SQL, no parameters.
    reason = (str(getattr(error, "orig", None) or error).splitlines() or [""])[0]
    log.warning(
        "%s, request_id %s: %s: %s", kind.value, request_id, type(error).__name__, reason[:300]
    )
    return error_response(retry_later(kind))


def _tag_request_id() -> str:
    """The request's id, made now if the request failed before it was given one."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    g.request_id = request_id
    return request_id


def _unexpected(error: Exception) -> Response:
    roll_back_quietly(db.session)
    request_id = _tag_request_id()
    # The id in the message itself, so that it is in the log line whatever the log format.
    log.exception("unhandled error, request_id %s", request_id, extra={"request_id": request_id})
    return error_response(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Send every error, Flask's own included, through error_response."""
    app.register_error_handler(HTTPException, error_response)
    app.register_error_handler(DomainError, domain_error_response)
    for database_error in DATABASE_ERRORS:
        app.register_error_handler(database_error, database_error_response)
    app.register_error_handler(Exception, _unexpected)
