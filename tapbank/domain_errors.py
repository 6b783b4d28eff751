"""The domain's refusals: one family, each naming the HTTP status and error code it maps to.

The domain raises these and knows nothing of HTTP; `tapbank.errors` renders every one of them
in the contract's error shape, so no view catches one to translate it.
"""


class DomainError(Exception):
    """A rule of the domain refused an operation; nothing it attempted was kept."""

    http_status = 409
    error_code = "conflict"
    message = "This conflicts with what is already recorded."
    retry_after_seconds: int | None = None
    field_errors: dict[str, list[str]] | None = None

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)


class HalfConflict(DomainError):
    """This key already has a different half on this side (or one from another account)."""

    error_code = "half_conflict"

    def __init__(self, side: str) -> None:
        super().__init__(f"This key already has a different {side} half; nothing was changed.")


class ReceiverNotNamed(DomainError):
    """The payer's half binds the tap to another payee: this receiver half is refused."""

    error_code = "receiver_not_named"
    message = (
        "The payer named another account as this tap's payee; nothing was changed and the tap "
        "goes on waiting for its payee."
    )


class LegacyUserIdTaken(DomainError):
    """Another account already has this AISBackend user id."""

    error_code = "legacy_user_id_taken"
    message = "Another account already has this legacy_user_id."


class ConcurrentChange(DomainError):
    """A row was not in the state a batch locked it in: the batch rolls back whole."""

    http_status = 503
    error_code = "busy"
    message = "A row changed after it was locked, so nothing was written; retry shortly."
    retry_after_seconds = 1


class UnknownAccount(DomainError):
    """An account the operation names does not exist."""

    http_status = 404
    error_code = "account_not_found"
    message = "No account with this id."


class InsufficientFunds(DomainError):
    """The debited customer account does not hold the amount."""

    http_status = 422
    error_code = "insufficient_funds"
    message = "The debited account's balance does not cover the amount."


class CurrencyMismatch(DomainError):
    """A transfer must be in both its accounts' currency."""

    http_status = 422
    error_code = "currency_mismatch"
    message = "A transfer must be in the currency of both its accounts."


class IdempotencyKeyReused(DomainError):
    """An Idempotency-Key sent again with another body: the first request's answer stands."""

    http_status = 422
    error_code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with another request body; nothing was done."
    field_errors = {"Idempotency-Key": ["Already used with another request body."]}


class IdempotencyKeyInUse(DomainError):
    """The first request with this Idempotency-Key is still running."""

    http_status = 409
    error_code = "idempotency_key_in_use"
    message = "The first request with this Idempotency-Key is still running; retry shortly."
    retry_after_seconds = 1


class InvalidCursor(DomainError):
    """A list's cursor is not one this API gave out."""

    http_status = 422
    error_code = "validation_failed"
    message = "Invalid fields: cursor."
    field_errors = {"cursor": ["Not a cursor this API gave out."]}
