"""Payee-bound taps: a payer's half that names its payee pays that payee or nobody."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tapbank.devtools.injection import age_taps
from tapbank.extensions import db
from tapbank.models import Half, Transfer
from tapbank.scheduler import jobs
from tests.factories import Factory

pytestmark = pytest.mark.usefixtures("ledger_holds")


@pytest.fixture
def payer(factory):
    return factory.account("Ada", deposit=10_000)


@pytest.fixture
def payee(factory):
    return factory.account("Bob")


@pytest.fixture
def stranger(factory):
    return factory.account("Eve (overheard the key)")


def bound_to(factory: Factory, payee, amount: int = 1250) -> dict:
    return factory.sender_body(amount, receiver_account_id=payee.id)


def halves_of(key) -> int:
    return db.session.scalar(select(func.count()).select_from(Half).where(Half.tap_key == key))


def transfers_of(key) -> int:
    count = select(func.count()).select_from(Transfer).where(Transfer.tap_key == key)
    return db.session.scalar(count)


def test_a_tap_bound_to_its_payee_settles_and_shows_whom_it_named(factory, payer, payee):
    key = uuid.uuid4()
    sent = factory.send(key, payer, bound_to(factory, payee))
    assert sent.status_code == 201, sent.json
    assert sent.json["sender"]["receiver_account_id"] == payee.id

    answer = factory.receive(key, payee, payer)

    assert (answer.status_code, answer.json["status"]) == (201, "settled"), answer.json
    assert answer.json["transfer"]["receiver_account_id"] == payee.id
    assert answer.json["sender"]["receiver_account_id"] == payee.id
    assert answer.json["receiver"]["receiver_account_id"] is None
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


def test_a_strangers_half_after_the_bound_one_is_refused_and_the_tap_waits_for_its_payee(
    factory, payer, payee, stranger
):
    key = uuid.uuid4()
    assert factory.send(key, payer, bound_to(factory, payee)).status_code == 201

    refused = factory.receive(key, stranger, payer)

    assert refused.status_code == 409
    assert refused.json["error"] == "receiver_not_named"
    assert halves_of(key) == 1
    tap = factory.client.get(f"/api/v1/taps/{key}", headers=payer.headers).json
    assert (tap["status"], tap["receiver"]) == ("awaiting_receiver", None)
    # The stranger is no party to the tap: it cannot even read it.
    assert factory.client.get(f"/api/v1/taps/{key}", headers=stranger.headers).status_code == 404

    answer = factory.receive(key, payee, payer)

    assert answer.json["status"] == "settled", answer.json
    assert (factory.balance(payee), factory.balance(stranger)) == (1250, 0)


def test_a_strangers_half_before_the_bound_one_makes_the_pair_fail_as_receiver_mismatch(
    factory, payer, payee, stranger
):
    key = uuid.uuid4()
    assert factory.receive(key, stranger, payer).status_code == 201

    answer = factory.send(key, payer, bound_to(factory, payee))

    assert (answer.status_code, answer.json["status"]) == (201, "failed"), answer.json
    assert answer.json["failure"]["reasons"] == [
        {"reason": "receiver_mismatch", "legacy_code": None}
    ]
    assert transfers_of(key) == 0
    assert (factory.balance(payer), factory.balance(stranger)) == (10_000, 0)
    # The real payee comes too late: the key's receiver half is taken.
    late = factory.receive(key, payee, payer)
    assert (late.status_code, late.json["error"]) == (409, "half_conflict")


def test_the_reconciler_fails_a_mismatched_pair_it_settles_later(factory_with, payer, stranger):
    deferred = factory_with(TAPBANK_SETTLE_INLINE=False)
    payee = deferred.account("Bob")
    key = uuid.uuid4()
    assert deferred.receive(key, stranger, payer).status_code == 201
    assert deferred.send(key, payer, bound_to(deferred, payee)).json["status"] == "matched"

    totals = jobs.in_app_context(deferred.app, jobs.reconcile_all)

    assert (totals.settled, totals.reasons) == (0, {"receiver_mismatch": 1})
    assert transfers_of(key) == 0


def test_a_bound_half_replays_only_with_the_same_payee(factory, payer, payee, stranger):
    key = uuid.uuid4()
    body = bound_to(factory, payee)
    assert factory.send(key, payer, body).status_code == 201

    assert factory.send(key, payer, body).status_code == 200
    rebound = factory.send(key, payer, {**body, "receiver_account_id": stranger.id})
    unbound = factory.send(key, payer, {**body, "receiver_account_id": None})

    assert (rebound.status_code, rebound.json["error"]) == (409, "half_conflict")
    assert (unbound.status_code, unbound.json["error"]) == (409, "half_conflict")
    assert halves_of(key) == 1


def test_an_explicit_null_payee_binds_nothing(factory, payer, stranger):
    key = uuid.uuid4()
    assert (
        factory.send(key, payer, factory.sender_body(receiver_account_id=None)).status_code == 201
    )
    assert factory.receive(key, stranger, payer).json["status"] == "settled"


def test_a_bound_lone_half_that_expired_still_refuses_a_stranger(factory, payer, payee, stranger):
    key = uuid.uuid4()
    assert factory.send(key, payer, bound_to(factory, payee)).status_code == 201
    age_taps(
        db.session, [key], timedelta(seconds=2 * factory.app.config["TAPBANK_TAP_TTL_SECONDS"])
    )
    jobs.in_app_context(factory.app, jobs.expire)

    refused = factory.receive(key, stranger, payer)

    assert (refused.status_code, refused.json["error"]) == (409, "receiver_not_named")
    assert halves_of(key) == 1


@pytest.mark.parametrize(
    ("side", "body_change", "field"),
    [
        pytest.param("sender", {"receiver_account_id": "not-a-uuid"}, "receiver_account_id"),
        pytest.param("sender", {"receiver_account_id": 42}, "receiver_account_id"),
        # Only the payer binds a tap: the payee's half has no such field.
        pytest.param("receiver", {"receiver_account_id": str(uuid.uuid4())}, "receiver_account_id"),
    ],
)
def test_a_bad_payee_field_is_a_422_naming_it_and_stores_nothing(
    factory, payer, payee, side, body_change, field
):
    key = uuid.uuid4()
    if side == "sender":
        response = factory.send(key, payer, factory.sender_body(**body_change))
    else:
        response = factory.receive(key, payee, payer, factory.receiver_body(payer, **body_change))

    assert (response.status_code, response.json["error"]) == (422, "validation_failed")
    assert field in response.json["errors"]
    assert halves_of(key) == 0
