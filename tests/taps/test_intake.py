"""Intake answers with the tap as stored: every column of the tap and of each half, as take_half()
returns them, in every state a half can find its tap in.

The routes show only some of these columns, so these tests read what intake returns itself.
"""

import uuid
from datetime import UTC, datetime

import pytest

from tapbank.extensions import db
from tapbank.models import Side, TapStatus
from tapbank.taps.intake import HalfSubmission, settle_taken_pair, submit_half, take_half
from tapbank.taps.records import read_tap


def sender_half(key: uuid.UUID, payer: str, amount: int = 1250) -> HalfSubmission:
    return HalfSubmission(
        tap_key=key,
        side=Side.SENDER,
        account_id=uuid.UUID(payer),
        sender_account_id=None,
        amount=amount,
        currency="USD",
        device_os="ios",
        device_model="iPhone 16",
        tapped_at=datetime.now(UTC),
    )


def receiver_half(key: uuid.UUID, payee: str, payer: str, amount: int = 1250) -> HalfSubmission:
    return HalfSubmission(
        tap_key=key,
        side=Side.RECEIVER,
        account_id=uuid.UUID(payee),
        sender_account_id=uuid.UUID(payer),
        amount=amount,
        currency="USD",
        device_os="android",
        device_model=None,
        tapped_at=datetime.now(UTC),
    )


def columns(tap, halves: dict) -> tuple[dict, dict]:
    """A tap's row and its halves' rows by side, each as its columns by name."""
    return tap._asdict(), {side: half._asdict() for side, half in halves.items()}


def as_stored(key: uuid.UUID) -> tuple[dict, dict]:
    """The tap and its halves as committed, read with nothing of intake's."""
    db.session.commit()
    record = read_tap(db.session, key)
    return columns(record.tap, record.halves)


@pytest.fixture
def accounts(factory) -> tuple[str, str]:
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    return payer.id, payee.id


def test_a_first_half_is_answered_with_the_tap_and_half_it_stored(accounts):
    payer, _ = accounts
    key = uuid.uuid4()

    taken = take_half(db.session, sender_half(key, payer))

    answered = columns(taken.record.tap, taken.record.halves)
    assert taken.created and taken.record.status == TapStatus.AWAITING_RECEIVER
    assert answered == as_stored(key)
    assert list(answered[1]) == [Side.SENDER]


def test_a_matching_half_is_answered_with_the_matched_tap_and_both_halves_as_stored(accounts):
    payer, payee = accounts
    key = uuid.uuid4()
    take_half(db.session, sender_half(key, payer))

    taken = take_half(db.session, receiver_half(key, payee, payer))

    tap, halves = columns(taken.record.tap, taken.record.halves)
    assert taken.created and tap["status"] == TapStatus.MATCHED
    assert tap["matched_at"] is not None
    assert (tap, halves) == as_stored(key)
    assert {side: half["side"] for side, half in halves.items()} == {
        Side.SENDER: Side.SENDER,
        Side.RECEIVER: Side.RECEIVER,
    }


@pytest.mark.parametrize(
    ("deposit", "ended", "outcome"),
    [(5000, TapStatus.SETTLED, "transfer_id"), (0, TapStatus.FAILED, "failure_id")],
    ids=["settled", "failed"],
)
def test_a_replay_after_the_tap_ended_returns_the_ended_tap_as_stored(
    factory, deposit, ended, outcome
):
    payer = factory.account("Ada", deposit=deposit).id
    payee = factory.account("Bob").id
    key = uuid.uuid4()
    sent = sender_half(key, payer)
    take_half(db.session, sent)
    taken = take_half(db.session, receiver_half(key, payee, payer))
    db.session.commit()  # as the routes do: the half is committed before its pair is settled
    settled = settle_taken_pair(db.session, taken)
    assert settled.record.status == ended
    db.session.commit()

    tap, halves, created = submit_half(db.session, sent)

    assert not created
    assert columns(tap, halves) == as_stored(key)
    assert tap.ended_at is not None and getattr(tap, outcome) is not None
