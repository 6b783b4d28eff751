"""Settling matched pairs in batches: one function for the inline attempt and the workers.

A batch takes matched taps with FOR UPDATE SKIP LOCKED (another worker's pairs are skipped,
never waited on), locks their accounts in id order, applies the rules to each pair in arrival
order against the balances the earlier pairs left, and writes every outcome in a handful of
set-based statements. The caller commits; until then nothing of the batch is visible.
"""

import functools
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from flask import current_app
from sqlalchemy import ARRAY, Cast, Select, Text, Uuid, bindparam, cast, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from tapbank.database_errors import database_unreachable
from tapbank.domain_errors import ConcurrentChange
from tapbank.driver import array_literal
from tapbank.ledger.bulk import Movement
from tapbank.models import Account, AccountStatus, Side, TapStatus
from tapbank.taps.ending import Outcomes, mend_queue_entries, write_outcomes
from tapbank.taps.queries import HALVES, QUEUE, QUEUED_MATCHED, QUEUED_NOT_SET_ASIDE, TAPS
from tapbank.taps.reasons import failure_message
from tapbank.taps.rules import AccountState, PairedHalves, reasons_against

log = logging.getLogger(__name__)


@dataclass
class BatchResult:
    """What one batch did."""

    settled: int = 0
    failed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    set_aside: int = 0

    @property
    def taken(self) -> int:
        return self.settled + self.failed

    def add(self, other: "BatchResult") -> None:
        """Count another batch's outcomes into this one."""
        self.settled += other.settled
        self.failed += other.failed
        self.set_aside += other.set_aside
        self.seconds += other.seconds
        for reason, count in other.reasons.items():
            self.reasons[reason] = self.reasons.get(reason, 0) + count


def settle_batch(
    session: Session, *, limit: int, ttl: timedelta, keys: list[uuid.UUID] | None = None
) -> BatchResult:
    """Settle or fail up to limit matched pairs (only those in keys, when given); flushes."""
    started = time.perf_counter()
    pairs = _take_matched_pairs(session, limit, keys)
    if not pairs:
        return BatchResult()
    balances, states = _lock_accounts(
        session, {p.payer_id for p in pairs} | {p.payee_id for p in pairs}
    )
    outcomes = Outcomes()
    result = BatchResult()
    for pair in pairs:
        reasons = reasons_against(
            pair, states[pair.payer_id], states[pair.payee_id], balances[pair.payer_id], ttl
        )
        if reasons:
            outcomes.fail(pair.tap_key, [r.value for r in reasons], failure_message(reasons))
            result.failed += 1
            for reason in reasons:
                result.reasons[reason.value] = result.reasons.get(reason.value, 0) + 1
            continue
        balances[pair.payer_id] -= pair.sender_amount
        balances[pair.payee_id] += pair.sender_amount
        outcomes.settle(
            Movement(
                tap_key=pair.tap_key,
                payer_id=pair.payer_id,
                payee_id=pair.payee_id,
                amount=pair.sender_amount,
                currency=pair.sender_currency,
                payer_balance_after=balances[pair.payer_id],
                payee_balance_after=balances[pair.payee_id],
            )
        )
        result.settled += 1
    write_outcomes(session, outcomes, balances)
    result.seconds = time.perf_counter() - started
    return result


def settle_inline(session: Session, key: uuid.UUID) -> BatchResult | None:
    """Try to settle one just-matched tap in the caller's transaction, behind a savepoint.

    Returns what the attempt did, or None when it could not: then the savepoint is rolled back,
    the tap stays matched, and the workers settle it.
    """
    try:
        with session.begin_nested():
            # Its accounts at once or not at all: a batch holding them must not hold this PUT.
            session.execute(INLINE_LOCK_TIMEOUT, {"ms": _inline_lock_timeout_ms()})
            return settle_batch(session, limit=1, ttl=tap_ttl(), keys=[key])
    # psycopg.Error too: COPY and the unprepared statements run on the driver's own cursor.
    except (DBAPIError, psycopg.Error, ConcurrentChange) as error:
        if database_unreachable(error):
            raise  # the connection is gone: the caller answers with the pair matched
        log.warning("inline settlement deferred to the reconciler", exc_info=True)
        return None


INLINE_LOCK_TIMEOUT = text("SELECT set_config('lock_timeout', CAST(:ms AS text), true)")


def _inline_lock_timeout_ms() -> int:
    return current_app.config["TAPBANK_INLINE_LOCK_TIMEOUT_MS"]


def tap_ttl() -> timedelta:
    """How long a half waits for its partner (TAPBANK_TAP_TTL_SECONDS)."""
    return timedelta(seconds=current_app.config["TAPBANK_TAP_TTL_SECONDS"])


def _take_matched_pairs(
    session: Session, limit: int, keys: list[uuid.UUID] | None
) -> list[PairedHalves]:
    """Lock up to limit matched taps, oldest match first, with both halves, in one query."""
    if keys is None:
        rows = session.execute(_take_matched(), {"limit": limit})
    else:
        rows = session.execute(_take_matched_among_keys(), {"limit": limit, "keys": keys})
    pairs, disagreeing = [], {}
    for row in rows.all():
        facts = row._asdict()
        status = facts.pop("tap_status")
        if status == TapStatus.MATCHED and None not in (facts["payer_id"], facts["payee_id"]):
            pairs.append(PairedHalves(**facts))
        else:
            disagreeing[facts["tap_key"]] = status
    if disagreeing:
        mend_queue_entries(session, disagreeing)
    return pairs


def _as_text(column) -> Cast:
    """An id as its text: a batch only compares ids and writes them back as COPY text, and
    making, then printing, a Python UUID for each would cost more than all its SQL."""
    return cast(column, Text)


def _build_take_matched() -> Select:
    queue, taps, sender, receiver = QUEUE, TAPS, HALVES.alias(), HALVES.alias()
    return (
        select(
            # Checked in Python, not filtered on: the planner cannot tell that every queued
            # match is a matched tap, and would sort the whole backlog to find a few.
            taps.c.status.label("tap_status"),
            # Each fact under the name PairedHalves gives it, never by position.
            _as_text(taps.c.key).label("tap_key"),
            _as_text(sender.c.account_id).label("payer_id"),
            _as_text(receiver.c.account_id).label("payee_id"),
            _as_text(receiver.c.sender_account_id).label("expected_payer_id"),
            _as_text(sender.c.receiver_account_id).label("named_payee_id"),
            sender.c.amount.label("sender_amount"),
            receiver.c.amount.label("receiver_amount"),
            sender.c.currency.label("sender_currency"),
            receiver.c.currency.label("receiver_currency"),
            sender.c.received_at.label("sender_received_at"),
            receiver.c.received_at.label("receiver_received_at"),
        )
        .select_from(queue)
        .join(taps, taps.c.key == queue.c.tap_key)
        # Outer joins: an entry queued as matched whose tap lacks a half is found and mended,
        # not silently left behind.
        .outerjoin(sender, (sender.c.tap_key == taps.c.key) & (sender.c.side == Side.SENDER))
        .outerjoin(
            receiver, (receiver.c.tap_key == taps.c.key) & (receiver.c.side == Side.RECEIVER)
        )
        .where(QUEUED_MATCHED)
        # Arrival order: matched_at is when the second half reached the server.
        .order_by(queue.c.matched_at, queue.c.tap_key)
        .limit(bindparam("limit"))
        # The queue entry is locked with its tap: a pair another worker ended since this
        # statement's snapshot has no entry left to lock, and is passed over.
        .with_for_update(of=[queue, taps], skip_locked=True)
    )


# Each statement is built on its first use, then kept: every batch, and every inline attempt,
# runs them. Not at import: mutation testing switches the builders' mutants per call, and a
# statement built at import would never meet them.
@functools.cache
def _take_matched() -> Select:
    """A batch of the backlog: set-aside pairs are passed over."""
    return _build_take_matched().where(QUEUED_NOT_SET_ASIDE)


@functools.cache
def _take_matched_among_keys() -> Select:
    """A batch of named keys (inline, a retry): set-aside pairs are taken as they are."""
    return _build_take_matched().where(TAPS.c.key.in_(bindparam("keys", expanding=True)))


@functools.cache
def _lock_accounts_statement() -> Select:
    return _build_lock_accounts()


_accounts = Account.__table__
# The batch's account ids as one array literal, not a parameter each: a thousand of those cost
# more to bind than the lookups themselves. Unnested in a subquery, so that a cached generic
# plan still parses the array once, not once for every account it compares.
_batch_account_ids = select(func.unnest(cast(bindparam("ids", type_=Text), ARRAY(Uuid))))


def _build_lock_accounts() -> Select:
    return (
        select(
            _as_text(_accounts.c.id).label("id"),
            _accounts.c.balance,
            _accounts.c.currency,
            _accounts.c.status,
        )
        .where(_accounts.c.id.in_(_batch_account_ids))
        .order_by(_accounts.c.id)
        # FOR NO KEY UPDATE: what the balance update takes anyway. It excludes every other
        # writer of these accounts, but not the foreign-key checks (FOR KEY SHARE) of halves and
        # transfers being written for them meanwhile: FOR UPDATE held each new half until the
        # batch committed.
        .with_for_update(key_share=True)
    )


def _lock_accounts(
    session: Session, account_ids: set[str]
) -> tuple[dict[str, int], dict[str, AccountState]]:
    """Lock the batch's accounts in id order; returns their balances and states by id."""
    rows = session.execute(_lock_accounts_statement(), {"ids": array_literal(account_ids)}).all()
    balances = {row.id: row.balance for row in rows}
    states = {
        row.id: AccountState(row.currency, row.status == AccountStatus.ACTIVE) for row in rows
    }
    return balances, states
