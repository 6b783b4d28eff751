"""Idempotency keys: the first request with a key runs; a repeat gets the first one's answer.

A key is claimed by inserting its record in the transaction of the work it guards, before the
work, and its answer is written there too: the effect and the answer commit together or not at
all. A repeat that arrives while the first still runs waits on the record's unique index, as
long as the session's lock timeout allows; the first's rollback leaves the key free again, so
only answers that committed (2xx) are ever replayed.
"""

import hashlib
import json
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tapbank.database_errors import gave_up_on_a_lock
from tapbank.domain_errors import IdempotencyKeyInUse, IdempotencyKeyReused
from tapbank.models import IdempotencyKey

# The record found after a conflict may be pruned before it is read; then the key is free.
CLAIM_ATTEMPTS = 2


@dataclass(frozen=True)
class Scope:
    """Where a key counts: one caller (never its bearer key), one method and one path."""

    caller: str
    method: str
    path: str
    key: str

    def matches(self):
        """The SQL condition for this scope's record."""
        return (
            (IdempotencyKey.caller == self.caller)
            & (IdempotencyKey.method == self.method)
            & (IdempotencyKey.path == self.path)
            & (IdempotencyKey.key == self.key)
        )


@dataclass(frozen=True)
class Answer:
    """What a request was answered: its status and JSON body."""

    status: int
    body: dict


def request_digest(body: object) -> str:
    """The digest of a JSON body in canonical form: key order and whitespace do not count."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(session: Session, scope: Scope, digest: str) -> Answer | None:
    """Claim the key for this request (None: run it, then record its answer), or the answer
    its first request committed, to be given again.

    Raises IdempotencyKeyReused when the first request had another body, and IdempotencyKeyInUse
    when the first is still running after the lock timeout.
    """
    for _ in range(CLAIM_ATTEMPTS):
        if _insert(session, scope, digest):
            return None
        stored = session.execute(
            select(
                IdempotencyKey.request_digest,
                IdempotencyKey.status_code,
                IdempotencyKey.response_body,
            ).where(scope.matches())
        ).one_or_none()
        if stored is None:
            continue
        if stored.request_digest != digest:
            raise IdempotencyKeyReused()
        return Answer(stored.status_code, stored.response_body)
    raise IdempotencyKeyInUse()


def _insert(session: Session, scope: Scope, digest: str) -> bool:
    """Insert the key's record; False when a committed one holds the scope already.

    The insert waits for a transaction that holds the scope uncommitted: for its commit (then
    the record is there) or its rollback (then this insert takes the scope).
    """
    statement = (
        insert(IdempotencyKey)
        .values(
            caller=scope.caller,
            method=scope.method,
            path=scope.path,
            key=scope.key,
            request_digest=digest,
        )
        .on_conflict_do_nothing(constraint="uq_idempotency_keys_scope")
        .returning(IdempotencyKey.id)
    )
    try:
        return session.execute(statement).scalar() is not None
    except DBAPIError as error:
        if gave_up_on_a_lock(error):
            raise IdempotencyKeyInUse() from error
        raise


def record(session: Session, scope: Scope, answer: Answer) -> None:
    """Write the answer into the record this transaction claimed; commits with the work."""
    session.execute(
        update(IdempotencyKey)
        .where(scope.matches())
        .values(status_code=answer.status, response_body=answer.body)
    )
