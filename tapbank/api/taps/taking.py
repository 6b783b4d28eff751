"""Taking a half for a route: once, committed, counted, and answered with the tap."""

from flask import current_app

from tapbank.api.taps.presenting import present_tap
from tapbank.extensions import db
from tapbank.metrics import HALVES_RECEIVED, record_batch
from tapbank.taps.intake import HalfSubmission, settle_taken_pair, take_half


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
        taken = settle_taken_pair(db.session, taken)
        db.session.commit()
        if taken.batch is not None:
            record_batch(taken.batch)
    return present_tap(taken.record), 201 if taken.created else 200
