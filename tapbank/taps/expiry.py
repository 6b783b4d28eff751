"""Failing lone halves whose partner did not arrive within the TTL."""

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tapbank.ledger import bulk
from tapbank.models import Tap, TapStatus
from tapbank.taps.reasons import Reason, failure_message

AWAITING = (TapStatus.AWAITING_SENDER, TapStatus.AWAITING_RECEIVER)


def expire_lone_halves(session: Session, *, ttl: timedelta, limit: int) -> int:
    """Fail up to limit taps still awaiting a half after ttl (server clock); flushes."""
    keys = session.scalars(
        select(Tap.key)
        .where(Tap.status.in_(AWAITING), Tap.created_at < func.now() - ttl)
        .order_by(Tap.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not keys:
        return 0
    outcomes = bulk.Outcomes()
    message = failure_message([Reason.EXPIRED])
    for key in keys:
        outcomes.fail(key, [Reason.EXPIRED.value], message)
    bulk.write_expiries(session, outcomes)
    return len(keys)
