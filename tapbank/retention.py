"""How long records are kept: idempotency keys and failed authentications past their retention
are deleted, one bounded batch at a time, by the database's clock."""

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from tapbank.models import AuthFailure, IdempotencyKey


def prune_idempotency_keys(session: Session, *, older_than: timedelta, limit: int) -> int:
    """Delete up to limit idempotency keys recorded longer than older_than ago; how many."""
    return _delete_older(session, IdempotencyKey, IdempotencyKey.created_at, older_than, limit)


def prune_auth_failures(session: Session, *, older_than: timedelta, limit: int) -> int:
    """Delete up to limit failed authentications older than older_than; how many."""
    return _delete_older(session, AuthFailure, AuthFailure.occurred_at, older_than, limit)


def _delete_older(
    session: Session,
    model: type[IdempotencyKey | AuthFailure],
    recorded_at: InstrumentedAttribute,
    older_than: timedelta,
    limit: int,
) -> int:
    # The oldest first, by the time's own index. No FOR UPDATE: locking rows takes the UPDATE
    # privilege, which the runtime role must not hold on auth_failures (an audit trail). Two
    # workers pruning at once wait for each other on a row, and neither deletes it twice.
    doomed = (
        select(model.id)
        .where(recorded_at < func.now() - older_than)
        .order_by(recorded_at)
        .limit(limit)
    )
    return session.execute(delete(model).where(model.id.in_(doomed.scalar_subquery()))).rowcount
