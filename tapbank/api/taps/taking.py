"""Taking a half for a route: once, committed, counted, and answered with the tap."""

from flask import current_app

from tapbank.api.taps.presenting import present_tap
from tapbank.extensions import db
from tapbank.metrics import HALVES_RECEIVED, record_batch
from tapbank.taps.intake import HalfSubmission, take_half


def take_and_present(submission: HalfSubmission, key_digest: str | None = None) -> tuple[dict, int]:
    """Take the half and commit; the tap, with 201 for a new half or 200 for its replay. With
    key_digest, the half's account is the one that key names (KeyNamesNoAccount if none)."""
    settle = current_app.config["TAPBANK_SETTLE_INLINE"]
    taken = take_half(db.session, submission, settle=settle, key_digest=key_digest)
    db.session.commit()
    side = submission.side.value
    HALVES_RECEIVED.labels(side=side, outcome="new" if taken.created else "replay").inc()
    if taken.batch is not None:
        record_batch(taken.batch)
    return present_tap(taken.record), 201 if taken.created else 200
