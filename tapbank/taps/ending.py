"""Ending taps: a batch's outcomes written at once, each tap marked with its transfer or failure
and taken off the queue, or the whole batch refused when a row is not as it was taken."""

import logging
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from tapbank.domain_errors import ConcurrentChange
from tapbank.driver import array_literal, copy_rows, execute_unprepared
from tapbank.ledger.bulk import Id, Movement, write_movements
from tapbank.metrics import QUEUE_ENTRIES_MENDED
from tapbank.models import TapStatus
from tapbank.models.types import time_ordered_id_text

log = logging.getLogger(__name__)

FAILURE_COLUMNS = ("id", "tap_key", "reasons", "message")
HALFLESS = "the tap is marked matched but lacks a half: an operator must look at it"
ENDED = (TapStatus.SETTLED, TapStatus.FAILED)


@dataclass
class Outcomes:
    """How each tap of one batch ends: the money its settled taps move, and the failures."""

    movements: list[Movement] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)

    def settle(self, movement: Movement) -> None:
        self.movements.append(movement)

    def fail(self, tap_key: Id, reasons: list[str], message: str) -> None:
        self.failures.append((time_ordered_id_text(), tap_key, reasons, message))

    @property
    def failed_keys(self) -> list[Id]:
        return [tap_key for _, tap_key, _, _ in self.failures]

    @property
    def failure_ids(self) -> list[Id]:
        return [failure_id for failure_id, _, _, _ in self.failures]


def write_outcomes(session: Session, outcomes: Outcomes, balances: dict[Id, int]) -> None:
    """Move the money, record the failures, and end the batch's matched taps."""
    transfer_ids = write_movements(session, outcomes.movements, balances)
    if outcomes.failures:
        copy_rows(session, "failures", FAILURE_COLUMNS, outcomes.failures)
    settled_keys = [movement.tap_key for movement in outcomes.movements]
    end_taps(session, settled_keys, transfer_ids, settled=True)
    end_taps(session, outcomes.failed_keys, outcomes.failure_ids, settled=False)


def write_expiries(session: Session, outcomes: Outcomes) -> None:
    """Record the failures of lone halves and end their taps."""
    if outcomes.failures:
        copy_rows(session, "failures", FAILURE_COLUMNS, outcomes.failures)
        end_taps(session, outcomes.failed_keys, outcomes.failure_ids, settled=False, lone=True)


def end_taps(
    session: Session,
    keys: list[Id],
    outcome_ids: list[Id],
    *,
    settled: bool,
    lone: bool = False,
) -> None:
    """Mark taps ended and take them off the queue, re-checking in SQL the state each was taken in.

    A tap taken as matched (or, when lone, as awaiting its partner) must still be so, and queued.
    Anything else means a row changed under the batch, which then rolls back whole.
    """
    if not keys:
        return
    column = "transfer_id" if settled else "failure_id"
    taken_in = (
        "status IN ('awaiting_sender', 'awaiting_receiver')" if lone else "status = 'matched'"
    )
    params = {
        "keys": array_literal(keys),
        "outcome_ids": array_literal(outcome_ids),
        "status": "settled" if settled else "failed",
    }
    # Unprepared: a generic plan made for any keys would loop over the whole array once per row.
    ended = execute_unprepared(
        session,
        f"UPDATE taps SET status = CAST(%(status)s AS tap_status), {column} = ended.outcome_id, "
        "ended_at = now() FROM unnest(CAST(%(keys)s AS uuid[]), CAST(%(outcome_ids)s AS uuid[])) "
        "AS ended(key, outcome_id) "
        # "= ANY" lets the planner go by primary key whatever its row estimates say.
        f"WHERE taps.key = ANY(CAST(%(keys)s AS uuid[])) AND taps.key = ended.key "
        f"AND taps.{taken_in}",
        params,
    )
    dequeued = execute_unprepared(
        session, "DELETE FROM tap_queue WHERE tap_key = ANY(CAST(%(keys)s AS uuid[]))", params
    )
    if ended != len(keys) or dequeued != len(keys):
        log.warning(
            "a batch of %d taps found rows changed under it (ended %d, dequeued %d); "
            "it rolls back whole",
            len(keys),
            ended,
            dequeued,
        )
        raise ConcurrentChange()


def mend_queue_entries(session: Session, disagreeing: dict[Id, TapStatus]) -> None:
    """Mend queue entries taken as matched whose tap is not a whole matched pair (tap_key -> the
    tap's status): an ended tap's entry is removed, an awaiting tap's goes back to awaiting, and
    a tap marked matched that lacks a half is set aside for the operator. Not states tapbank
    writes, so each is reported; none stops the batch's other pairs."""
    ended = [key for key, status in disagreeing.items() if status in ENDED]
    halfless = [key for key, status in disagreeing.items() if status == TapStatus.MATCHED]
    awaiting = [key for key in disagreeing if key not in ended and key not in halfless]
    if ended:
        execute_unprepared(
            session,
            "DELETE FROM tap_queue WHERE tap_key = ANY(CAST(%(keys)s AS uuid[]))",
            {"keys": array_literal(ended)},
        )
    if awaiting:
        execute_unprepared(
            session,
            "UPDATE tap_queue SET matched_at = NULL, retry_at = NULL "
            "WHERE tap_key = ANY(CAST(%(keys)s AS uuid[]))",
            {"keys": array_literal(awaiting)},
        )
    if halfless:
        execute_unprepared(
            session,
            "UPDATE tap_queue SET retry_at = now() + interval '5 minutes', set_aside_at = now(), "
            "attempts = attempts + 1, last_error = %(why)s "
            "WHERE tap_key = ANY(CAST(%(keys)s AS uuid[]))",
            {"keys": array_literal(halfless), "why": HALFLESS},
        )
    QUEUE_ENTRIES_MENDED.inc(len(disagreeing))
    log.error(
        "mended %d queue entries that disagreed with their tap: %d of ended taps removed, "
        "%d of awaiting taps put back to awaiting, %d of taps marked matched without both "
        "halves set aside",
        len(disagreeing),
        len(ended),
        len(awaiting),
        len(halfless),
    )
