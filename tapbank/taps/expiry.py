"""Failing lone halves whose partner did not arrive within the TTL."""

from datetime import timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tapbank.models import QueuedTap, Tap
from tapbank.taps.ending import Outcomes, write_expiries
from tapbank.taps.queries import QUEUED_AWAITING
from tapbank.taps.reasons import Reason, failure_message


def expire_lone_halves(
    session: Session, *, ttl: timedelta, limit: int, keys: list | None = None
) -> int:
    """Fail up to limit taps still awaiting a half after ttl (server clock), only those in keys
    when given; flushes."""
    query = _overdue(ttl, limit)
    if keys is not None:
        query = query.where(Tap.key.in_(keys))
    overdue = session.scalars(query).all()
    if not overdue:
        return 0
    outcomes = Outcomes()
    message = failure_message([Reason.EXPIRED])
    for key in overdue:
        outcomes.fail(key, [Reason.EXPIRED.value], message)
    write_expiries(session, outcomes)
    return len(overdue)


def _overdue(ttl: timedelta, limit: int) -> Select:
    return (
        select(Tap.key)
        .select_from(QueuedTap)
        .join(Tap, Tap.key == QueuedTap.tap_key)
        .where(QUEUED_AWAITING, QueuedTap.created_at < func.now() - ttl)
        .order_by(QueuedTap.created_at)
        .limit(limit)
        # Locked with its tap: an entry matched since this statement's snapshot is checked
        # again once locked, and passed over.
        .with_for_update(of=[QueuedTap, Tap], skip_locked=True)
    )
