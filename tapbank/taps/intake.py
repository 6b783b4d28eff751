"""Taking in one half of a tap: idempotent, durable once committed, pairing by key."""

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from tapbank.models import Half, HalfStatus, Side, Tap, TapStatus

AWAITING_OTHER = {
    Side.SENDER: TapStatus.AWAITING_RECEIVER,
    Side.RECEIVER: TapStatus.AWAITING_SENDER,
}


_upsert = insert(Tap).values(key=bindparam("key"), status=bindparam("status"))
# Built once: a no-op update on conflict, so the row is locked whether new or not.
TAKE_TAP = (
    _upsert.on_conflict_do_update(index_elements=[Tap.key], set_={"key": _upsert.excluded.key})
    .returning(Tap)
    .execution_options(populate_existing=True)
)
HALVES_OF_TAP = select(Half).where(Half.tap_key == bindparam("key"))


class HalfConflict(Exception):
    """This key already has a different half on this side."""


@dataclass(frozen=True)
class HalfSubmission:
    """One phone's half exactly as sent, with the account that sent it."""

    tap_key: uuid.UUID
    side: Side
    account_id: uuid.UUID
    sender_account_id: uuid.UUID
    amount: int
    currency: str
    device_os: str
    device_model: str | None
    tapped_at: datetime


def submit_half(session: Session, submission: HalfSubmission) -> tuple[Tap, dict[Side, Half], bool]:
    """Record a half, or recognise its replay; flushes, never commits.

    Returns the tap, its halves by side and whether this half is new. The tap row is upserted
    and locked in one statement, so two halves of one key, or two copies of one half, are taken
    one after the other and the second always sees the first.
    """
    key = submission.tap_key
    tap = session.scalars(TAKE_TAP, {"key": key, "status": AWAITING_OTHER[submission.side]}).one()
    halves = {half.side: half for half in session.scalars(HALVES_OF_TAP, {"key": key})}
    existing = halves.get(submission.side)
    if existing is not None:
        if _same_half(existing, submission):
            return tap, halves, False
        raise HalfConflict()

    half = Half(**{f.name: getattr(submission, f.name) for f in fields(submission)})
    if tap.status == TapStatus.FAILED:
        # The partner already expired alone: this half ends with the tap's failure.
        half.status, half.failure_id = HalfStatus.FAILED, tap.failure_id
    elif halves:
        tap.status = TapStatus.MATCHED
        tap.matched_at = func.now()
    session.add(half)
    session.flush()
    halves[submission.side] = half
    return tap, halves, True


def _same_half(existing: Half, submission: HalfSubmission) -> bool:
    return all(getattr(existing, f.name) == getattr(submission, f.name) for f in fields(submission))
