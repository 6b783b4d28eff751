"""Setting pairs aside: a matched pair that fails alone, or whose account another transaction
holds, waits out a backoff, out of the way of every other pair, and is then retried alone.

A set-aside pair stays matched: no money moved, nothing decided. These functions flush; the
caller commits.
"""

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from tapbank.metrics import PAIRS_SET_ASIDE
from tapbank.models import Account, Half, QueuedTap, Side
from tapbank.taps.queries import QUEUED_MATCHED, QUEUED_NOT_SET_ASIDE, QUEUED_SET_ASIDE

# The first retry comes after this long, each next one after twice the last, up to the cap.
FIRST_RETRY_SECONDS = 1
RETRY_CAP_SECONDS = 300


@dataclass(frozen=True)
class Candidate:
    """A matched pair as the next batch would take it, read without locking."""

    tap_key: uuid.UUID
    payer_id: uuid.UUID
    payee_id: uuid.UUID


@dataclass(frozen=True)
class SetAsideSummary:
    """What the operator sees of the set-aside pairs."""

    count: int
    oldest_age_s: float
    last_error: str | None


def next_candidates(session: Session, limit: int) -> list[Candidate]:
    """The pairs the next batch of the backlog would take, oldest match first, unlocked."""
    sender, receiver = Half.__table__.alias(), Half.__table__.alias()
    rows = session.execute(
        select(QueuedTap.tap_key, sender.c.account_id, receiver.c.account_id)
        .join(sender, (sender.c.tap_key == QueuedTap.tap_key) & (sender.c.side == Side.SENDER))
        .join(
            receiver,
            (receiver.c.tap_key == QueuedTap.tap_key) & (receiver.c.side == Side.RECEIVER),
        )
        .where(QUEUED_MATCHED, QUEUED_NOT_SET_ASIDE)
        .order_by(QueuedTap.matched_at, QueuedTap.tap_key)
        .limit(limit)
    )
    return [Candidate(*row) for row in rows]


def held_accounts(session: Session, account_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The accounts among these that another transaction holds now; the caller's own locks on
    the others last until its transaction ends."""
    free = session.scalars(
        select(Account.id)
        .where(Account.id.in_(account_ids))
        .order_by(Account.id)
        .with_for_update(key_share=True, skip_locked=True)
    )
    return account_ids - set(free)


def set_aside(session: Session, keys: list[uuid.UUID], error: str, *, cause: str) -> None:
    """Set these matched pairs aside until their backoff has passed, recording why."""
    if not keys:
        return
    backoff = func.least(
        RETRY_CAP_SECONDS, FIRST_RETRY_SECONDS * func.power(2, func.least(QueuedTap.attempts, 16))
    )
    session.execute(
        update(QueuedTap)
        .where(QueuedTap.tap_key.in_(keys), QUEUED_MATCHED)
        .values(
            attempts=QueuedTap.attempts + 1,
            set_aside_at=func.now(),
            retry_at=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, backoff),
            last_error=error[:500],
        )
    )
    PAIRS_SET_ASIDE.labels(cause=cause).inc(len(keys))


def due_for_retry(session: Session, limit: int) -> list[uuid.UUID]:
    """Set-aside pairs whose backoff has passed, the longest due first."""
    return list(
        session.scalars(
            select(QueuedTap.tap_key)
            .where(QUEUED_SET_ASIDE, QueuedTap.retry_at <= func.now())
            .order_by(QueuedTap.retry_at)
            .limit(limit)
        )
    )


def set_aside_summary(session: Session) -> SetAsideSummary:
    """How many pairs are set aside, how long the oldest has waited since it matched, and the
    most recent error."""
    count, oldest_age = session.execute(
        select(
            func.count(), func.extract("epoch", func.now() - func.min(QueuedTap.matched_at))
        ).where(QUEUED_SET_ASIDE)
    ).one()
    last_error = session.scalar(
        select(QueuedTap.last_error)
        .where(QUEUED_SET_ASIDE)
        .order_by(QueuedTap.set_aside_at.desc())
        .limit(1)
    )
    return SetAsideSummary(count, float(oldest_age or 0), last_error)
