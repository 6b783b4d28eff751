"""Reading taps back: a tap's rows with its halves and outcome, and the failed taps."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from tapbank.models import Failure, Half, Side, TapStatus, Transfer
from tapbank.pagination import Page, paginate
from tapbank.taps.queries import HALVES_OF_TAP, TAPS

# Built once, as Core: a tap is read back on every PUT that ends it and every GET.
TAP_BY_KEY = select(*TAPS.c).where(TAPS.c.key == bindparam("key"))
TRANSFER_BY_ID = select(*Transfer.__table__.c).where(Transfer.__table__.c.id == bindparam("id"))
FAILURE_BY_ID = select(*Failure.__table__.c).where(Failure.__table__.c.id == bindparam("id"))


@dataclass(frozen=True)
class TapRecord:
    """A tap's row, its halves by side, and its transfer or failure once it ended."""

    tap: Row
    halves: dict[Side, Row]
    transfer: Row | None = None
    failure: Row | None = None

    @property
    def key(self) -> uuid.UUID:
        return self.tap.key

    @property
    def status(self) -> TapStatus:
        return self.tap.status

    @property
    def parties(self) -> frozenset[uuid.UUID]:
        """The accounts that sent its halves: who may read it besides the operator."""
        return frozenset(half.account_id for half in self.halves.values())


@dataclass(frozen=True)
class FailedTap:
    """A failure with the halves of its tap as received."""

    failure: Failure
    halves: dict[Side, Half]


def read_tap(
    session: Session, key: uuid.UUID, halves: dict[Side, Row] | None = None
) -> TapRecord | None:
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
    return TapRecord(tap, halves, transfer, failure)


def failed_taps(session: Session, cursor: str | None, limit: int) -> Page:
    """Every failed tap, newest first, with both halves as received (a Page of FailedTap)."""
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
    halves: dict[uuid.UUID, dict[Side, Half]] = {failure.tap_key: {} for failure in failures}
    for half in session.scalars(select(Half).where(Half.tap_key.in_(list(halves)))):
        halves[half.tap_key][half.side] = half
    items = [FailedTap(failure, halves[failure.tap_key]) for failure in failures]
    return Page(items=items, next_cursor=page.next_cursor)
