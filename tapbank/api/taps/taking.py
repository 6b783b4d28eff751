"""Taking a half for a route: once, committed, counted, and answered with the tap."""

import logging

from flask import current_app

from tapbank.api.taps.presenting import present_tap
from tapbank.database_errors import DATABASE_ERRORS, retryable, roll_back_quietly
from tapbank.extensions import db
from tapbank.metrics import HALVES_RECEIVED, record_batch
from tapbank.taps.intake import HalfSubmission, TakenHalf, settle_taken_pair, take_half

log = logging.getLogger(__name__)


def take_and_present(submission: HalfSubmission, key_digest: str | None = None) -> tuple[dict, int]:
    """Take the half and commit it, then settle a pair it completes and commit that; the tap,
    with 201 for a new half or 200 for its replay. With key_digest, the half's account is the one
    that key names (KeyNamesNoAccount if none)."""
    taken = take_half(db.session, submission, key_digest=key_digest)
    # The half is durable before its pair is settled: an attempt that fails or is cut off leaves
    # the pair matched for the workers, never the half lost.
    db.session.commit()
    side = submission.side.value
    HALVES_RECEIVED.labels(side=side, outcome="new" if taken.created else "replay").inc()
    if taken.completes_pair and current_app.config["TAPBANK_SETTLE_INLINE"]:
        taken = _settled_at_once(taken)
    return present_tap(taken.record), 201 if taken.created else 200


def _settled_at_once(taken: TakenHalf) -> TakenHalf:
    """The pair settled (or failed) inline, committed; or, when the database is out of reach or
    busy by then, the tap as taken: matched, which it durably is, for the workers to settle. A
    503 here would tell the phone its half was not stored."""
    try:
        settled = settle_taken_pair(db.session, taken)
        db.session.commit()
    except DATABASE_ERRORS as error:
        kind = retryable(error)
        if kind is None:
            raise
        roll_back_quietly(db.session)
        log.warning("inline settlement left to the reconciler: %s", kind.value)
        return taken
    if settled.batch is not None:
        record_batch(settled.batch)
    return settled
