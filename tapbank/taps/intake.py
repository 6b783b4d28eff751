"""Taking in one half of a tap: idempotent, durable once committed, pairing by key; and settling
the pair at once, in a transaction of its own, when the half completes one.

Intake is the hottest path of the API, so it speaks Core: rows in, rows out, no unit of work.
"""

import uuid
from collections import namedtuple
from dataclasses import dataclass, fields
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from tapbank.domain_errors import HalfConflict, ReceiverNotNamed
from tapbank.driver import fetch_rows, has_begun
from tapbank.metrics import HALVES_RECEIVED
from tapbank.models import Side, TapStatus
from tapbank.taps.queries import HALVES, TAPS
from tapbank.taps.records import TapRecord, read_tap
from tapbank.taps.settlement import BatchResult, settle_inline

_upsert = pg_insert(TAPS).values(key=bindparam("key"), status=bindparam("status"))
# A no-op update on conflict, so the row is locked whether it is new or not (as take_half() locks
# it): the legacy receiver half reads its own earlier half under this lock.
TAKE_TAP = _upsert.on_conflict_do_update(
    index_elements=[TAPS.c.key], set_={"key": _upsert.excluded.key}
).returning(*TAPS.c)

# The whole of taking a half, the caller's key included, is one call of the take_half() function
# (migration 0014): one round trip. It returns one row per half the tap then has. It runs on the
# driver's own cursor (SQLAlchemy's compiling and result handling cost more than the call's own
# work in the driver), alone in autocommit or in the transaction in progress (submit_half).
TAKE_HALF = (
    "SELECT * FROM take_half(%(key_digest)s::text, %(account_id)s::uuid, %(tap_key)s::uuid, "
    "%(side)s::tap_side, %(sender_account_id)s::uuid, %(receiver_account_id)s::uuid, "
    "%(amount)s::bigint, %(currency)s::text, %(device_os)s::text, %(device_model)s::text, "
    "%(tapped_at)s::timestamptz)"
)
TapRow = namedtuple("TapRow", [column.name for column in TAPS.c])
HalfRow = namedtuple("HalfRow", [column.name for column in HALVES.c])


STILL_OPEN = (TapStatus.AWAITING_SENDER, TapStatus.AWAITING_RECEIVER, TapStatus.MATCHED)


@dataclass(frozen=True)
class HalfSubmission:
    """One phone's half exactly as sent, with the account that sent it (None: the account the
    key taken with it names)."""

    tap_key: uuid.UUID
    side: Side
    account_id: uuid.UUID | None
    # The payer; None on a sender half, which the sending account pays.
    sender_account_id: uuid.UUID | None
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

    @property
    def completes_pair(self) -> bool:
        """This new half matched the tap's other half: the pair is ready to settle."""
        return self.created and self.record.status == TapStatus.MATCHED


def take_half(
    session: Session, submission: HalfSubmission, *, key_digest: str | None = None
) -> TakenHalf:
    """Take a half; returns the tap as it then stands. Settling a pair it completes is
    settle_taken_pair's, in a transaction after this one is committed.

    With key_digest, the half's account is the one that key names (KeyNamesNoAccount if none).
    Commits only when the session had begun no transaction (see submit_half).
    """
    tap, halves, created = submit_half(session, submission, key_digest)
    if tap.status in STILL_OPEN:
        # The rows in hand are the whole tap: it has no outcome to read.
        return TakenHalf(TapRecord(tap, halves), created)
    return TakenHalf(read_tap(session, submission.tap_key, halves), created)


def settle_taken_pair(session: Session, taken: TakenHalf) -> TakenHalf:
    """Settle (or fail) the pair taken.completes_pair says its half completed, at once, in the
    caller's transaction; returns the tap as it then stands. When the attempt cannot run or
    another worker holds the pair, the tap stays matched for the workers. Never commits."""
    key = taken.record.key
    batch = settle_inline(session, key)
    # Read again even when the batch took nothing: a worker may have ended the pair between the
    # half's commit and this attempt.
    return TakenHalf(read_tap(session, key, taken.record.halves), taken.created, batch)


def submit_half(
    session: Session, submission: HalfSubmission, key_digest: str | None = None
) -> tuple[TapRow, dict[Side, HalfRow], bool]:
    """Record a half, or recognise its replay.

    Returns the tap's row, its halves' rows by side and whether this half is new. The tap row is
    upserted and locked first, so two halves of one key, or two copies of one half, are taken one
    after the other and the second always sees the first. With key_digest, the submission's
    account is the one that key names, looked up in the same call: KeyNamesNoAccount if none.

    When the session has begun no transaction (the v1 routes read nothing before the half), the
    one statement is the whole transaction, committed by the server: one round trip. Otherwise
    (the legacy routes read the caller and the payer first) it joins the transaction in progress,
    which the caller commits. A refused half stores nothing; the tap's no-op upsert that locked
    it leaves a new version of its row, unchanged, as a replay's does.
    """
    values = {f.name: getattr(submission, f.name) for f in fields(submission)}
    # The side by its value, as the enum's text, whatever the driver makes of a Python enum.
    values |= {"side": submission.side.value, "key_digest": key_digest}
    rows = fetch_rows(session, TAKE_HALF, values, alone=not has_begun(session))
    outcome = rows[0].outcome
    if outcome == "unknown_key":
        raise KeyNamesNoAccount()
    if outcome == "receiver_not_named":
        _count_refusal(submission)
        raise ReceiverNotNamed()
    if outcome == "half_conflict":
        _count_refusal(submission)
        raise HalfConflict(submission.side.value)
    return (
        _tap_of(submission.tap_key, rows[0]),
        _halves_of(submission.tap_key, rows),
        (outcome == "created"),
    )


class KeyNamesNoAccount(Exception):
    """The key a half was sent with is no account's: the caller refuses it as authentication."""


def _tap_of(key: uuid.UUID, row: NamedTuple) -> TapRow:
    return TapRow(
        key=key,
        status=TapStatus(row.tap_status),
        created_at=row.tap_created_at,
        matched_at=row.tap_matched_at,
        ended_at=row.tap_ended_at,
        transfer_id=row.tap_transfer_id,
        failure_id=row.tap_failure_id,
    )


def _halves_of(key: uuid.UUID, rows: list[NamedTuple]) -> dict[Side, HalfRow]:
    halves = {}
    for row in rows:
        side = Side(row.half_side)
        halves[side] = HalfRow(
            id=row.half_id,
            tap_key=key,
            side=side,
            account_id=row.half_account_id,
            sender_account_id=row.half_sender_account_id,
            receiver_account_id=row.half_receiver_account_id,
            amount=row.half_amount,
            currency=row.half_currency,
            device_os=row.half_device_os,
            device_model=row.half_device_model,
            tapped_at=row.half_tapped_at,
            received_at=row.half_received_at,
        )
    return halves


def _count_refusal(submission: HalfSubmission) -> None:
    # Counted here: a refused half has nothing to commit.
    HALVES_RECEIVED.labels(side=submission.side.value, outcome="conflict").inc()
