"""Failing lone halves whose partner did not arrive within the TTL."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tapbank.ledger import bulk
from tapbank.models import QueuedTap, Tap
from tapbank.taps.reasons import Reason, failure_message


def expire_lone_halves(session: Session, *, ttl: timedelta, limit: int) -> int:
    """Fail up to limit taps still awaiting a half after ttl (server clock); flushes."""
    keys = session.scalars(
        select(Tap.key)
        .select_from(QueuedTap)
        .join(Tap, Tap.key == QueuedTap.tap_key)
        .where(QueuedTap.matched_at.is_(None), QueuedTap.created_at < func.now() - ttl)
        .order_by(QueuedTap.created_at)
        .limit(limit)
        # Locked with its tap: an entry matched since this statement's snapshot is checked
        # again once locked, and passed over.
        .with_for_update(of=[QueuedTap, Tap], skip_locked=True)
    ).all()
    if not keys:
        return 0
    outcomes = bulk.Outcomes()
    message = failure_message([Reason.EXPIRED])
    for key in keys:
        outcomes.fail(key, [Reason.EXPIRED.value], message)
    bulk.write_expiries(session, outcomes)
    return len(keys)
