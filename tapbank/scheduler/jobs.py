"""The workers' jobs. Each runs in its own app context and commits once per batch."""

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from flask import Flask, current_app

from tapbank.extensions import db
from tapbank.metrics import record_batch, record_expiries
from tapbank.retention import prune_auth_failures, prune_idempotency_keys
from tapbank.scheduler.batches import retry_set_aside_pairs, settle_next_batch
from tapbank.taps.expiry import expire_lone_halves
from tapbank.taps.settlement import BatchResult, settle_batch, tap_ttl

log = logging.getLogger(__name__)

# A run drains batch after batch, but hands the thread back after this long.
RUN_TIME_BUDGET_SECONDS = 2.0
# The most rows one pruning transaction deletes.
PRUNE_BATCH = 1000


@dataclass
class PassTotals:
    """What one run of a job did, summed over its batches."""

    batches: int = 0
    settled: int = 0
    failed: int = 0
    expired: int = 0
    set_aside: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"batches={self.batches} settled={self.settled} failed={self.failed} "
            f"expired={self.expired} set_aside={self.set_aside}"
        )


def reconcile(stop: threading.Event | None = None) -> PassTotals:
    """Settle matched pairs batch by batch until none are left, time is up, or stop is set;
    then retry the set-aside pairs that are due."""
    batch_size = current_app.config["TAPBANK_RECONCILE_BATCH"]
    ttl = tap_ttl()
    totals = PassTotals()
    deadline = time.monotonic() + RUN_TIME_BUDGET_SECONDS
    while True:
        result = settle_next_batch(db.session, limit=batch_size, ttl=ttl)
        _count(totals, result)
        if time.monotonic() > deadline or (stop and stop.is_set()):
            break
        if not result.taken and not result.set_aside:
            break  # nothing left, or a row changed under the batch: the next run goes on
        if result.taken and result.taken + result.set_aside < batch_size:
            break  # the backlog is drained
        # Else a full batch, or pairs set aside for a held account: the next batch goes on.
    _count(totals, retry_set_aside_pairs(db.session, ttl=ttl))
    return totals


def _count(totals: PassTotals, result: BatchResult) -> None:
    """Add a committed batch's outcomes to the run's totals, its metrics and the log."""
    totals.set_aside += result.set_aside
    if not result.taken:
        return
    record_batch(result)
    totals.batches += 1
    totals.settled += result.settled
    totals.failed += result.failed
    for reason, count in result.reasons.items():
        totals.reasons[reason] = totals.reasons.get(reason, 0) + count
    log.info(
        "reconcile batch: taken=%d settled=%d failed=%d duration_ms=%.1f",
        result.taken,
        result.settled,
        result.failed,
        result.seconds * 1000,
    )


def expire(stop: threading.Event | None = None) -> PassTotals:
    """Fail lone halves older than the TTL, batch by batch."""
    ttl = tap_ttl()
    batch_size = current_app.config["TAPBANK_RECONCILE_BATCH"]
    totals = PassTotals()
    while True:
        expired = expire_lone_halves(db.session, ttl=ttl, limit=batch_size)
        db.session.commit()
        record_expiries(expired)
        if expired:
            log.info("expire batch: expired=%d", expired)
        totals.expired += expired
        if expired < batch_size or (stop and stop.is_set()):
            return totals
        totals.batches += 1


def reconcile_all(stop: threading.Event | None = None) -> PassTotals:
    """One full pass, as `flask reconcile` runs it: expire lone halves, then settle pairs."""
    expired = expire(stop)
    totals = reconcile(stop)
    totals.expired = expired.expired
    return totals


def reconcile_taps(keys: list[uuid.UUID]) -> None:
    """Expire and settle these taps now, if due, and leave every other tap to the workers."""
    ttl = tap_ttl()
    expired = expire_lone_halves(db.session, ttl=ttl, limit=len(keys), keys=keys)
    result = settle_batch(db.session, limit=len(keys), ttl=ttl, keys=keys)
    db.session.commit()
    record_expiries(expired)
    record_batch(result)


@dataclass
class PruneTotals:
    """What one run of the prune job deleted."""

    idempotency_keys: int = 0
    auth_failures: int = 0

    def summary(self) -> str:
        return f"idempotency_keys={self.idempotency_keys} auth_failures={self.auth_failures}"


def prune(stop: threading.Event | None = None) -> PruneTotals:
    """Delete idempotency keys and failed authentications past their retention, a committed
    batch at a time, until none are left, time is up, or stop is set."""
    config = current_app.config
    deadline = time.monotonic() + RUN_TIME_BUDGET_SECONDS
    totals = PruneTotals(
        idempotency_keys=_drain(
            prune_idempotency_keys,
            timedelta(hours=config["TAPBANK_IDEMPOTENCY_RETENTION_HOURS"]),
            deadline,
            stop,
        ),
        auth_failures=_drain(
            prune_auth_failures,
            timedelta(days=config["TAPBANK_AUTH_FAILURE_RETENTION_DAYS"]),
            deadline,
            stop,
        ),
    )
    if totals.idempotency_keys or totals.auth_failures:
        log.info("prune: %s", totals.summary())
    return totals


def _drain(
    prune_batch: Callable[..., int],
    older_than: timedelta,
    deadline: float,
    stop: threading.Event | None,
) -> int:
    """Run prune_batch, committing each batch, until a batch is short, time is up, or stop."""
    deleted_in_all = 0
    while True:
        deleted = prune_batch(db.session, older_than=older_than, limit=PRUNE_BATCH)
        db.session.commit()
        deleted_in_all += deleted
        if deleted < PRUNE_BATCH or time.monotonic() > deadline or (stop and stop.is_set()):
            return deleted_in_all


def in_app_context(app: Flask, job, *args):
    """Run job inside a fresh app context, so its session is its own and is closed after."""
    with app.app_context():
        try:
            return job(*args)
        finally:
            db.session.remove()
