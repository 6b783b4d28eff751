"""The batch writer's COPY text format carries any text unchanged."""

import uuid

from sqlalchemy import text

from tapbank.driver import copy_rows
from tapbank.extensions import db
from tapbank.taps.ending import FAILURE_COLUMNS, Outcomes


def test_copy_keeps_tabs_newlines_backslashes_and_quotes_intact(app):
    tricky = 'tab\there, line\nbreak, back\\slash, "quoted", carriage\rreturn'
    reasons = ["sender_mismatch", 'odd"one', "back\\slash", "comma,inside"]
    outcomes = Outcomes()
    key = uuid.uuid4()
    outcomes.fail(key, reasons, tricky)

    copy_rows(db.session, "failures", FAILURE_COLUMNS, outcomes.failures)

    row = db.session.execute(
        text("SELECT reasons, message FROM failures WHERE tap_key = :key"), {"key": key}
    ).one()
    db.session.rollback()
    assert row.message == tricky
    assert row.reasons == reasons
