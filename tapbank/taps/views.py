"""Reading a tap back in the contract's shape, for its parties and the operator."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from tapbank.models import Failure, Half, Side, TapStatus, Transfer
from tapbank.pagination import Page, paginate
from tapbank.taps.queries import HALVES_OF_TAP, TAPS
from tapbank.taps.reasons import describe_reasons

# Built once, as Core: a tap is read back on every PUT that ends it and every GET.
TAP_BY_KEY = select(*TAPS.c).where(TAPS.c.key == bindparam("key"))
TRANSFER_BY_ID = select(*Transfer.__table__.c).where(Transfer.__table__.c.id == bindparam("id"))
FAILURE_BY_ID = select(*Failure.__table__.c).where(Failure.__table__.c.id == bindparam("id"))
# A half is pending until its tap ends, then ends as its tap did.
HALF_STATUS = {TapStatus.SETTLED: "settled", TapStatus.FAILED: "failed"}


@dataclass(frozen=True)
class TapView:
    """A tap with its halves and outcome, ready to serialise."""

    key: uuid.UUID
    status: str
    sender: dict | None
    receiver: dict | None
    transfer: dict | None
    failure: dict | None
    parties: frozenset[uuid.UUID]


def load_tap(
    session: Session, key: uuid.UUID, halves: dict[Side, Row] | None = None
) -> TapView | None:
    """The tap with this key, or None if it was never seen.

    A half never changes once taken, so halves the caller already holds are not read again.
    """
    tap = session.execute(TAP_BY_KEY, {"key": key}).one_or_none()
    if tap is None:
        return None
    if halves is None:
        halves = {half.side: half for half in session.execute(HALVES_OF_TAP, {"key": key})}
    transfer = failure = None
    if tap.transfer_id:
        transfer = session.execute(TRANSFER_BY_ID, {"id": tap.transfer_id}).one()
    if tap.failure_id:
        failure = session.execute(FAILURE_BY_ID, {"id": tap.failure_id}).one()
    return tap_view(tap, halves, transfer, failure)


def tap_view(
    tap: Row,
    halves: dict[Side, Row],
    transfer: Row | None = None,
    failure: Row | None = None,
) -> TapView:
    """The view of a tap whose rows are in hand."""
    return TapView(
        key=tap.key,
        status=tap.status.value,
        sender=_half(halves.get(Side.SENDER), tap.status),
        receiver=_half(halves.get(Side.RECEIVER), tap.status),
        transfer=_transfer(transfer),
        failure=describe_failure(failure),
        parties=frozenset(half.account_id for half in halves.values()),
    )


def _half(half: Half | Row | None, tap_status: TapStatus) -> dict | None:
    """A half as received, with how it ended: as its tap did."""
    if half is None:
        return None
    return {
        "account_id": half.account_id,
        "sender_account_id": half.sender_account_id,
        "amount": half.amount,
        "currency": half.currency,
        "device": {"os": half.device_os, "model": half.device_model},
        "tapped_at": half.tapped_at,
        "received_at": half.received_at,
        "status": HALF_STATUS.get(tap_status, "pending"),
    }


def _transfer(transfer: Row | None) -> dict | None:
    if transfer is None:
        return None
    return {
        "id": transfer.id,
        "sender_account_id": transfer.debit_account_id,
        "receiver_account_id": transfer.credit_account_id,
        "amount": transfer.amount,
        "currency": transfer.currency,
        "settled_at": transfer.created_at,
    }


def describe_failure(failure: Failure | Row | None) -> dict | None:
    """A failure as the contract shows it: reasons with their legacy codes, message, time."""
    if failure is None:
        return None
    return {
        "reasons": describe_reasons(failure.reasons),
        "message": failure.message,
        "failed_at": failure.failed_at,
    }


def failed_taps(session: Session, cursor: str | None, limit: int) -> Page:
    """Every failed tap, newest first, with both halves as received and its reasons."""
    page = paginate(
        session,
        select(Failure),
        [Failure.failed_at, Failure.id],
        cursor,
        limit,
        parse=[datetime.fromisoformat, uuid.UUID],
        key_of=lambda row: [row[0].failed_at.isoformat(), row[0].id],
    )
    failures = [row[0] for row in page.items]
    halves: dict[uuid.UUID, dict[Side, Half]] = {}
    keys = [failure.tap_key for failure in failures]
    for half in session.scalars(select(Half).where(Half.tap_key.in_(keys))):
        halves.setdefault(half.tap_key, {})[half.side] = half
    items = [
        {
            "key": failure.tap_key,
            "sender": _half(halves.get(failure.tap_key, {}).get(Side.SENDER), TapStatus.FAILED),
            "receiver": _half(halves.get(failure.tap_key, {}).get(Side.RECEIVER), TapStatus.FAILED),
            "failure": describe_failure(failure),
        }
        for failure in failures
    ]
    return Page(items=items, next_cursor=page.next_cursor)
