"""Settling the backlog a batch at a time so that no one pair and no held account stops the rest.

Each batch is its own unit of work, committed alone. When one fails:
- on a lock it could not get in time (an account another transaction holds), the pairs of the
  held accounts are set aside and the next batch goes on without them;
- on a row changed under it, nothing is kept and the next run takes the pairs again;
- when the database is gone, the error goes up to the job, which records it;
- on anything else, the batch is split in halves until the pair that fails alone is found; that
  pair is set aside and every other pair settles.
Set-aside pairs are retried alone once their backoff has passed.
"""

import enum
import logging
from datetime import timedelta

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from tapbank.database_errors import database_unreachable, describe_failure
from tapbank.domain_errors import ConcurrentChange
from tapbank.taps.set_aside import (
    due_for_retry,
    held_accounts,
    next_candidates,
    set_aside,
)
from tapbank.taps.settlement import BatchResult, settle_batch

log = logging.getLogger(__name__)

# Set-aside pairs retried in one run at most, so a run stays short.
RETRIES_PER_RUN = 50
HELD_ACCOUNT = "an account of this pair was held by another transaction"
# A lock not had in time, a deadlock, a serialization failure: a held lock, not a bad pair.
HELD_LOCK_STATES = {"55P03", "40P01", "40001"}


class Trouble(enum.Enum):
    """Why a batch failed, as far as what to do next depends on it."""

    HELD_LOCK = "held_lock"
    CHANGED_UNDER_IT = "changed_under_it"
    DATABASE_GONE = "database_gone"  # or no connection to be had: the job records it
    FAILED = "failed"


def settle_next_batch(session: Session, *, limit: int, ttl: timedelta) -> BatchResult:
    """Settle the next batch of the backlog and commit; when it fails, settle what still can."""
    try:
        result = settle_batch(session, limit=limit, ttl=ttl)
        session.commit()
        return result
    except Exception as error:
        session.rollback()
        trouble = trouble_of(error)
        if trouble is Trouble.DATABASE_GONE:
            raise
        if trouble is Trouble.CHANGED_UNDER_IT:
            log.warning("a batch found a row changed under it; the next run takes it again")
            return BatchResult()
        if trouble is Trouble.HELD_LOCK:
            return _set_aside_pairs_of_held_accounts(session, limit)
        log.error("a batch failed (%s); splitting it to find the pair that fails alone", error)
        keys = [candidate.tap_key for candidate in next_candidates(session, limit)]
        return _settle_isolating(session, keys, ttl)


def retry_set_aside_pairs(session: Session, *, ttl: timedelta) -> BatchResult:
    """Retry, each alone, the set-aside pairs whose backoff has passed."""
    result = BatchResult()
    for key in due_for_retry(session, RETRIES_PER_RUN):
        result.add(_settle_isolating(session, [key], ttl))
    session.rollback()
    return result


def trouble_of(error: BaseException) -> Trouble:
    """Classify a batch's failure: by its kind, and by PostgreSQL's SQLSTATE."""
    if isinstance(error, ConcurrentChange):
        return Trouble.CHANGED_UNDER_IT
    if database_unreachable(error) or isinstance(error, PoolTimeout):
        return Trouble.DATABASE_GONE
    if getattr(getattr(error, "orig", error), "sqlstate", None) in HELD_LOCK_STATES:
        return Trouble.HELD_LOCK
    return Trouble.FAILED


def _set_aside_pairs_of_held_accounts(session: Session, limit: int) -> BatchResult:
    candidates = next_candidates(session, limit)
    accounts = {c.payer_id for c in candidates} | {c.payee_id for c in candidates}
    held = held_accounts(session, accounts)
    keys = [c.tap_key for c in candidates if c.payer_id in held or c.payee_id in held]
    set_aside(session, keys, HELD_ACCOUNT, cause="account_held")
    session.commit()
    if keys:
        log.warning("set aside %d pairs whose accounts another transaction holds", len(keys))
    return BatchResult(set_aside=len(keys))


def _settle_isolating(session: Session, keys: list, ttl: timedelta) -> BatchResult:
    """Settle these pairs, splitting any part that fails until the pair failing alone is found,
    and setting that one aside."""
    result = BatchResult()
    parts = [keys]
    while parts:
        part = parts.pop()
        if not part:
            continue
        try:
            result.add(settle_batch(session, limit=len(part), ttl=ttl, keys=part))
            session.commit()
            continue
        except Exception as error:
            session.rollback()
            failure = error  # "error" is unbound once the except clause ends
        trouble = trouble_of(failure)
        if trouble is Trouble.DATABASE_GONE:
            raise failure
        if trouble is Trouble.CHANGED_UNDER_IT or (trouble is Trouble.HELD_LOCK and len(part) > 1):
            continue  # the next run takes these again; a held account is found there
        if trouble is Trouble.FAILED and len(part) > 1:
            middle = len(part) // 2
            parts.extend([part[middle:], part[:middle]])  # the older half first
            continue
        held = trouble is Trouble.HELD_LOCK
        cause, why = (
            ("account_held", HELD_ACCOUNT) if held else ("failed_alone", describe_failure(failure))
        )
        set_aside(session, part, why, cause=cause)
        session.commit()
        log.error("set aside %d pair(s): %s", len(part), why)
        result.set_aside += len(part)
    return result
