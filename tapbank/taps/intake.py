"""Taking in one half of a tap: idempotent, durable once committed, pairing by key, and
settling the pair at once when the half completes one.

Intake is the hottest path of the API, so it speaks Core: rows in, rows out, no unit of work.
"""

import uuid
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Row, bindparam, func, insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from tapbank.domain_errors import HalfConflict, ReceiverNotNamed
from tapbank.metrics import HALVES_RECEIVED
from tapbank.models import Side, TapStatus
from tapbank.taps.queries import HALVES, HALVES_OF_TAP, QUEUE, TAPS
from tapbank.taps.records import TapRecord, read_tap
from tapbank.taps.settlement import BatchResult, settle_inline

AWAITING_OTHER = {
    Side.SENDER: TapStatus.AWAITING_RECEIVER,
    Side.RECEIVER: TapStatus.AWAITING_SENDER,
}


_upsert = pg_insert(TAPS).values(key=bindparam("key"), status=bindparam("status"))
# A no-op update on conflict, so the row is locked whether it is new or not.
TAKE_TAP = _upsert.on_conflict_do_update(
    index_elements=[TAPS.c.key], set_={"key": _upsert.excluded.key}
).returning(*TAPS.c)
ADD_HALF = insert(HALVES).returning(*HALVES.c)
# The queue's parameters are named after no column: given a parameter named like one of its
# columns, a Core INSERT or UPDATE also writes that column.
_queue_entry = insert(QUEUE).values(
    tap_key=bindparam("queued_key"), created_at=bindparam("queued_at")
)
# A tap's first half queues it for the reconcilers, in the same round trip.
ADD_FIRST_HALF = ADD_HALF.add_cte(_queue_entry.cte("queued"))
# The match marks the tap and its queue entry together, in one round trip.
MATCH_TAP = (
    update(TAPS)
    .where(TAPS.c.key == bindparam("queued_key"))
    .values(status=TapStatus.MATCHED, matched_at=func.now())
    .returning(*TAPS.c)
    .add_cte(
        update(QUEUE)
        .where(QUEUE.c.tap_key == bindparam("queued_key"))
        .values(matched_at=func.now())
        .cte("queued_as_matched")
    )
)


STILL_OPEN = (TapStatus.AWAITING_SENDER, TapStatus.AWAITING_RECEIVER, TapStatus.MATCHED)


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
    # The payee a sender half binds the tap to; a receiver half names none.
    receiver_account_id: uuid.UUID | None = None


@dataclass(frozen=True)
class TakenHalf:
    """What taking a half did: the tap as it now stands, whether the half was new, and the
    inline settlement's batch when one ran and could settle or fail the pair."""

    record: TapRecord
    created: bool
    batch: BatchResult | None = None


def take_half(session: Session, submission: HalfSubmission, *, settle: bool) -> TakenHalf:
    """Take a half and, when it completes a pair and settle is set, settle the pair before
    answering; returns the tap as it then stands. Never commits: the caller commits once."""
    tap, halves, created = submit_half(session, submission)
    batch = None
    if created and tap.status == TapStatus.MATCHED and settle:
        batch = settle_inline(session, submission.tap_key)
    if tap.status in STILL_OPEN and not (batch and batch.taken):
        # The rows in hand are the whole tap: it has no outcome to read.
        return TakenHalf(TapRecord(tap, halves), created, batch)
    return TakenHalf(read_tap(session, submission.tap_key, halves), created, batch)


def submit_half(session: Session, submission: HalfSubmission) -> tuple[Row, dict[Side, Row], bool]:
    """Record a half, or recognise its replay; never commits.

    Returns the tap's row, its halves' rows by side and whether this half is new. The tap row is
    upserted and locked in one statement, so two halves of one key, or two copies of one half,
    are taken one after the other and the second always sees the first.
    """
    key = submission.tap_key
    tap = session.execute(TAKE_TAP, {"key": key, "status": AWAITING_OTHER[submission.side]}).one()
    halves = {half.side: half for half in session.execute(HALVES_OF_TAP, {"key": key})}
    if not _payee_may_answer(halves.get(Side.SENDER), submission):
        _count_refusal(submission)
        raise ReceiverNotNamed()
    existing = halves.get(submission.side)
    if existing is not None:
        if _same_half(existing, submission):
            return tap, halves, False
        _count_refusal(submission)
        raise HalfConflict(submission.side.value)

    values = {f.name: getattr(submission, f.name) for f in fields(submission)}
    if tap.status == TapStatus.FAILED:
        # The partner already expired alone: this half ends with the tap's failure.
        halves[submission.side] = session.execute(ADD_HALF, values).one()
    elif not halves:
        queued = {"queued_key": key, "queued_at": tap.created_at}
        halves[submission.side] = session.execute(ADD_FIRST_HALF, values | queued).one()
    else:
        halves[submission.side] = session.execute(ADD_HALF, values).one()
        tap = session.execute(MATCH_TAP, {"queued_key": key}).one()
    return tap, halves, True


def _payee_may_answer(sender_half: Row | None, submission: HalfSubmission) -> bool:
    """False for a receiver half from an account other than the payee the sender half named."""
    if submission.side != Side.RECEIVER or sender_half is None:
        return True
    named = sender_half.receiver_account_id
    return named is None or named == submission.account_id


def _count_refusal(submission: HalfSubmission) -> None:
    # Counted here: a refused half has nothing to commit.
    HALVES_RECEIVED.labels(side=submission.side.value, outcome="conflict").inc()


def _same_half(existing: Row, submission: HalfSubmission) -> bool:
    return all(getattr(existing, f.name) == getattr(submission, f.name) for f in fields(submission))
