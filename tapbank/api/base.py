"""The Api and Blueprint classes every resource uses: errors, auth and their documentation."""

from collections.abc import Callable
from functools import partial, wraps

import marshmallow as ma
from flask_smorest import Api as SmorestApi
from flask_smorest import Blueprint as SmorestBlueprint
from werkzeug.exceptions import HTTPException

from tapbank.api.fields import configured_maximum
from tapbank.api.idempotent import IdempotencyKeyHeaderSchema, answer_once
from tapbank.auth import account_key, authenticate, require_account, require_admin
from tapbank.errors import error_response

BEARER = [{"bearerAuth": []}]
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}
# Either one: a bearer key, or the same key in AISBackend's `api_key` header.
BEARER_OR_API_KEY = [{"bearerAuth": []}, {"apiKeyHeader": []}]
API_KEY_SCHEME = {"type": "apiKey", "in": "header", "name": "api_key"}


class ErrorSchema(ma.Schema):
    """The contract's error body."""

    code = ma.fields.Integer(required=True, metadata={"example": 404})
    status = ma.fields.String(required=True, metadata={"example": "Not Found"})
    error = ma.fields.String(required=True, metadata={"example": "tap_not_found"})
    message = ma.fields.String(required=True, metadata={"example": "No tap with this key."})
    errors = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Raw(),
        metadata={"description": "On a 422: each invalid field with its messages."},
    )
    request_id = ma.fields.String(metadata={"description": "On a 5xx: also in the server log."})


class Api(SmorestApi):
    """flask-smorest's Api, rendering errors in the contract's shape."""

    ERROR_SCHEMA = ErrorSchema

    def init_app(self, app, *, spec_kwargs=None):
        """As flask-smorest's, with this app's own tap amount maximum in the document."""
        super().init_app(app, spec_kwargs=spec_kwargs)
        self.ma_plugin.converter.add_attribute_function(
            configured_maximum(app.config["TAPBANK_MAX_TRANSFER_MINOR"])
        )

    def handle_http_exception(self, error):
        return error_response(error)


class Blueprint(SmorestBlueprint):
    """A resource blueprint with the ways a route may be protected."""

    def arguments(self, schema, *args, **kwargs):
        """As flask-smorest's, but a schema class is built once, not on every request."""
        # webargs instantiates a schema class per call, deep-copying every field each time.
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def authenticated(self, view: Callable) -> Callable:
        """Any valid key: the owner checks are the view's own (404 for what is not theirs)."""
        return self._guarded(view, authenticate)

    def account_only(self, view: Callable) -> Callable:
        """An account's own key; the operator's key gets 403 (it acts for no account)."""
        return self._guarded(view, require_account)

    def account_key_looked_up_by_view(self, view: Callable) -> Callable:
        """As account_only, but the view's own statement looks the key up (auth.account_key):
        one round trip fewer. A body refused as invalid is still refused after the key is
        checked, as on every other route."""

        @wraps(view)
        def checked_first_when_refused(*args, **kwargs):
            try:
                return view(*args, **kwargs)
            except HTTPException as error:
                if error.code == 422:
                    require_account()  # 401, 403 or 429 comes before 422
                raise

        return self._guarded(checked_first_when_refused, account_key)

    def admin_only(self, view: Callable) -> Callable:
        """The operator's key only; an account key gets 403."""
        return self._guarded(view, require_admin)

    def idempotent(self, *, withheld: tuple[str, ...] = ()) -> Callable:
        """Take an Idempotency-Key: the view runs once per key and its answer (withheld fields
        null) is given to each repeat. This commits the view's work with its answer, so an
        idempotent view does not commit."""

        def decorator(view: Callable) -> Callable:
            @wraps(view)
            def wrapper(*args, idempotency: dict, **kwargs):
                run_view = partial(view, *args, **kwargs)
                return answer_once(run_view, idempotency.get("key"), withheld)

            documented = self.alt_response(
                409,
                schema=ErrorSchema,
                description="idempotency_key_in_use: the first request with this "
                "Idempotency-Key is still running.",
                headers=RETRY_AFTER,
            )(wrapper)
            return self.arguments(
                IdempotencyKeyHeaderSchema, location="headers", arg_name="idempotency"
            )(documented)

        return decorator

    def authenticated_or_api_key(self, view: Callable) -> Callable:
        """As authenticated, the key also taken from AISBackend's `api_key` header."""
        return self._guarded(view, partial(authenticate, api_key_header=True), BEARER_OR_API_KEY)

    def account_only_or_api_key(self, view: Callable) -> Callable:
        """As account_only, the key also taken from AISBackend's `api_key` header."""
        guard = partial(require_account, api_key_header=True)
        return self._guarded(view, guard, BEARER_OR_API_KEY)

    def _guarded(self, view: Callable, guard: Callable, security: list = BEARER) -> Callable:
        """Run guard before the view (and before its body is validated), documented as security
        says."""

        @wraps(view)
        def wrapper(*args, **kwargs):
            guard()
            return view(*args, **kwargs)

        return self.doc(security=security)(wrapper)
