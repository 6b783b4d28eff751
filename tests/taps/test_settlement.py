"""Settlement end to end: halves through the API, then the reconciler (or the inline attempt)."""

import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select, text

from tapbank.devtools.backlog import seed_accounts, seed_matched_pairs
from tapbank.devtools.injection import age_taps
from tapbank.extensions import db
from tapbank.models import Transfer
from tapbank.scheduler import jobs
from tapbank.taps.expiry import expire_lone_halves
from tapbank.taps.reasons import Reason, failure_message
from tapbank.taps.settlement import BatchResult, settle_batch
from tests import factories
from tests.database import libpq_url
from tests.factories import Factory
from tests.triggers import trigger

LEGACY = {
    "insufficient_funds": 100,
    "sender_mismatch": 200,
    "amount_mismatch": 300,
    "expired": 500,
    "currency_mismatch": None,
    "self_transfer": None,
    "account_inactive": None,
    "receiver_mismatch": None,
}


# After every test here, every invariant of the ledger holds.
pytestmark = pytest.mark.usefixtures("ledger_holds")


@pytest.fixture
def deferred(factory_with) -> Factory:
    """A factory whose PUTs never settle: every pair waits for the reconciler."""
    return factory_with(TAPBANK_SETTLE_INLINE=False)


@pytest.fixture
def short_ttl(factory_with) -> Factory:
    """A deferred factory whose taps expire after one second."""
    return factory_with(TAPBANK_SETTLE_INLINE=False, TAPBANK_TAP_TTL_SECONDS=1)


@pytest.fixture
def payer(deferred) -> factories.TestAccount:
    return deferred.account("Ada", deposit=10_000)


@pytest.fixture
def payee(deferred) -> factories.TestAccount:
    return deferred.account("Bob")


@pytest.fixture
def stranger(deferred) -> factories.TestAccount:
    return deferred.account("Cy", deposit=500)


def reconcile(factory: Factory) -> jobs.PassTotals:
    """One reconcile pass (expire lone halves, then settle pairs) in the factory's app."""
    return jobs.in_app_context(factory.app, jobs.reconcile_all)


def matched_pair(factory: Factory, payer, payee, amount=1250, **receiver_changes) -> uuid.UUID:
    """Both halves of a new tap, left matched; receiver_changes alter the receiver's half
    (receiver_amount for its amount)."""
    key = uuid.uuid4()
    assert factory.send(key, payer, factory.sender_body(amount)).status_code == 201
    receiver_amount = receiver_changes.pop("receiver_amount", amount)
    receiver = {**factory.receiver_body(payer, receiver_amount), **receiver_changes}
    response = factory.receive(key, payee, payer, receiver)
    assert response.status_code == 201, response.json
    assert response.json["status"] == "matched"
    return key


def read_tap(factory: Factory, key, account: factories.TestAccount | None = None) -> dict:
    headers = account.headers if account else factory.admin_headers
    response = factory.client.get(f"/api/v1/taps/{key}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def history(factory: Factory, account: factories.TestAccount) -> list[dict]:
    path = f"/api/v1/accounts/{account.id}/transfers"
    response = factory.client.get(path, headers=account.headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def failure_listing(factory: Factory, key) -> list[dict]:
    """The reconciliation-failures items for key (there should be exactly one)."""
    response = factory.client.get(
        "/api/v1/reconciliation-failures?limit=200", headers=factory.admin_headers
    )
    assert response.status_code == 200, response.json
    return [item for item in response.json["items"] if item["key"] == str(key)]


def shift_arrival(key, side: str, seconds: float) -> None:
    """Make a half look as if it reached the server this many seconds earlier."""
    db.session.execute(
        text(
            "UPDATE halves SET received_at = received_at - make_interval(secs => :seconds) "
            "WHERE tap_key = :key AND side = :side"
        ),
        {"key": key, "side": side, "seconds": seconds},
    )
    db.session.commit()


def assert_failed(factory: Factory, key, reasons: list[str], parties, balances: dict) -> dict:
    """The tap failed for exactly these reasons, visible to both parties and the operator,
    listed among the reconciliation failures, and no money moved."""
    tap = read_tap(factory, key)
    assert tap["status"] == "failed"
    assert tap["transfer"] is None
    expected = [{"reason": reason, "legacy_code": LEGACY[reason]} for reason in reasons]
    assert tap["failure"]["reasons"] == expected
    assert tap["failure"]["message"] == failure_message([Reason(reason) for reason in reasons])
    assert tap["failure"]["failed_at"]
    for side in ("sender", "receiver"):
        assert tap[side] is None or tap[side]["status"] == "failed"
    for party in parties:
        assert read_tap(factory, key, party) == tap
    (listed,) = failure_listing(factory, key)
    assert listed["failure"] == tap["failure"]
    assert (listed["sender"], listed["receiver"]) == (tap["sender"], tap["receiver"])
    for account, balance in balances.items():
        assert factory.balance(account) == balance
    assert db.session.scalar(select(func.count()).where(Transfer.tap_key == key)) == 0
    return tap


# -- settling ------------------------------------------------------------------------------------


def test_a_batch_counts_each_reason_once_per_failed_pair_and_times_itself(deferred, payer, payee):
    for _ in range(2):
        matched_pair(deferred, payer, payee, 1250, receiver_amount=1200)
    matched_pair(deferred, payer, payee, 1250)

    started = time.perf_counter()
    result = settle_batch(db.session, limit=10, ttl=timedelta(seconds=120))
    took = time.perf_counter() - started
    db.session.commit()

    assert (result.settled, result.failed, result.reasons) == (1, 2, {"amount_mismatch": 2})
    assert 0 < result.seconds <= took


def test_batch_results_add_up_every_count_and_reason():
    # How a reconcile pass totals its batches for `flask reconcile` and the workers' logs.
    total = BatchResult(settled=1, failed=2, reasons={"expired": 2}, seconds=0.5, set_aside=1)

    total.add(
        BatchResult(
            settled=3,
            failed=1,
            reasons={"expired": 1, "self_transfer": 1},
            seconds=0.25,
            set_aside=2,
        )
    )

    assert total == BatchResult(
        settled=4, failed=3, reasons={"expired": 3, "self_transfer": 1}, seconds=0.75, set_aside=3
    )


def test_a_matched_pair_settles_when_the_reconciler_runs(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250)
    assert deferred.balance(payer) == 10_000

    totals = reconcile(deferred)

    assert (totals.settled, totals.failed) == (1, 0)
    tap = read_tap(deferred, key, payee)
    assert tap["status"] == "settled" and tap["failure"] is None
    assert tap["sender"]["status"] == tap["receiver"]["status"] == "settled"
    assert tap["transfer"]["sender_account_id"] == payer.id
    assert tap["transfer"]["receiver_account_id"] == payee.id
    assert (tap["transfer"]["amount"], tap["transfer"]["currency"]) == (1250, "USD")
    assert read_tap(deferred, key, payer) == tap
    assert (deferred.balance(payer), deferred.balance(payee)) == (8750, 1250)
    assert failure_listing(deferred, key) == []


def test_a_settled_tap_is_in_both_accounts_transfer_history(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250)
    reconcile(deferred)
    transfer_id = read_tap(deferred, key)["transfer"]["id"]

    paid = [item for item in history(deferred, payer) if item["tap_key"] == str(key)]
    received = [item for item in history(deferred, payee) if item["tap_key"] == str(key)]

    assert len(paid) == len(received) == 1
    assert paid[0]["transfer_id"] == received[0]["transfer_id"] == transfer_id
    assert (paid[0]["kind"], paid[0]["direction"], paid[0]["amount"]) == ("tap", "debit", 1250)
    assert (paid[0]["counterparty_account_id"], paid[0]["balance_after"]) == (payee.id, 8750)
    assert (received[0]["direction"], received[0]["amount"]) == ("credit", 1250)
    assert (received[0]["counterparty_account_id"], received[0]["balance_after"]) == (
        payer.id,
        1250,
    )


def test_a_second_pass_finds_nothing_to_do_and_moves_nothing_again(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250)
    assert reconcile(deferred).settled == 1

    again = reconcile(deferred)

    assert (again.settled, again.failed, again.batches) == (0, 0, 0)
    assert deferred.balance(payer) == 8750
    assert db.session.scalar(select(func.count()).where(Transfer.tap_key == key)) == 1


def test_a_transfer_of_the_whole_balance_settles(deferred, payee):
    exact = deferred.account("Dee", deposit=1250)
    key = matched_pair(deferred, exact, payee, 1250)

    reconcile(deferred)

    assert read_tap(deferred, key)["status"] == "settled"
    assert (deferred.balance(exact), deferred.balance(payee)) == (0, 1250)


# -- each rule alone -----------------------------------------------------------------------------


def test_a_payee_expecting_another_payer_fails_as_sender_mismatch(deferred, payer, payee, stranger):
    key = matched_pair(deferred, payer, payee, sender_account_id=stranger.id)
    reconcile(deferred)
    assert_failed(
        deferred, key, ["sender_mismatch"], [payer, payee], {payer: 10_000, payee: 0, stranger: 500}
    )


def test_halves_with_different_amounts_fail_as_amount_mismatch(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250, receiver_amount=1200)
    reconcile(deferred)
    assert_failed(deferred, key, ["amount_mismatch"], [payer, payee], {payer: 10_000, payee: 0})


def test_a_payee_account_in_another_currency_fails_as_currency_mismatch(deferred, payer):
    euro = deferred.account("Eve", currency="EUR")
    key = matched_pair(deferred, payer, euro, 1250)
    reconcile(deferred)
    assert_failed(deferred, key, ["currency_mismatch"], [payer, euro], {payer: 10_000, euro: 0})


def test_halves_in_another_currency_than_the_accounts_fail_as_currency_mismatch(
    deferred, payer, payee
):
    key = uuid.uuid4()
    assert deferred.send(key, payer, deferred.sender_body(1250, "EUR")).status_code == 201
    receiver = deferred.receiver_body(payer, 1250, "EUR")
    assert deferred.receive(key, payee, payer, receiver).json["status"] == "matched"
    reconcile(deferred)
    assert_failed(deferred, key, ["currency_mismatch"], [payer, payee], {payer: 10_000, payee: 0})


def test_an_account_paying_itself_fails_as_self_transfer(deferred, payer):
    key = matched_pair(deferred, payer, payer, 1250)
    reconcile(deferred)
    assert_failed(deferred, key, ["self_transfer"], [payer], {payer: 10_000})


@pytest.mark.parametrize("frozen", ["payer", "payee"])
def test_a_party_frozen_before_reconciliation_fails_the_tap_as_account_inactive(
    deferred, payer, payee, frozen
):
    key = matched_pair(deferred, payer, payee, 1250)
    account = payer if frozen == "payer" else payee
    response = deferred.client.patch(
        f"/api/v1/accounts/{account.id}", json={"status": "frozen"}, headers=deferred.admin_headers
    )
    assert response.status_code == 200 and response.json["status"] == "frozen"

    reconcile(deferred)

    assert_failed(deferred, key, ["account_inactive"], [payer, payee], {payer: 10_000, payee: 0})


def test_a_payer_without_the_amount_fails_as_insufficient_funds(deferred, payee):
    short = deferred.account("Dee", deposit=1249)
    key = matched_pair(deferred, short, payee, 1250)
    reconcile(deferred)
    assert_failed(deferred, key, ["insufficient_funds"], [short, payee], {short: 1249, payee: 0})


# -- expiry on the server's clock ----------------------------------------------------------------


@pytest.mark.parametrize("earlier", ["sender", "receiver"])
def test_halves_that_reached_the_server_further_apart_than_the_ttl_fail_as_expired(
    deferred, payer, payee, earlier
):
    key = matched_pair(deferred, payer, payee, 1250)
    shift_arrival(key, earlier, 121)  # the TTL is 120 s

    reconcile(deferred)

    assert_failed(deferred, key, ["expired"], [payer, payee], {payer: 10_000, payee: 0})


def test_halves_just_within_the_ttl_settle(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250)
    shift_arrival(key, "sender", 119)

    reconcile(deferred)

    assert read_tap(deferred, key)["status"] == "settled"


def test_a_pair_that_met_in_time_settles_however_late_the_reconciler_comes(deferred, payer, payee):
    key = matched_pair(deferred, payer, payee, 1250)
    age_taps(db.session, [key], timedelta(hours=1))

    reconcile(deferred)

    assert read_tap(deferred, key)["status"] == "settled"
    assert deferred.balance(payee) == 1250


def test_a_second_half_arriving_after_the_ttl_fails_the_pair_as_expired(short_ttl):
    payer, payee = short_ttl.account("Ada", deposit=10_000), short_ttl.account("Bob")
    key = uuid.uuid4()
    assert short_ttl.send(key, payer).status_code == 201
    time.sleep(1.2)
    assert short_ttl.receive(key, payee, payer).json["status"] == "matched"

    reconcile(short_ttl)

    assert_failed(short_ttl, key, ["expired"], [payer, payee], {payer: 10_000, payee: 0})


def test_a_lone_half_older_than_the_ttl_expires_and_a_younger_one_waits(short_ttl):
    payer, payee = short_ttl.account("Ada", deposit=10_000), short_ttl.account("Bob")
    lone, fresh = uuid.uuid4(), uuid.uuid4()
    assert short_ttl.send(lone, payer).status_code == 201
    time.sleep(1.2)
    assert short_ttl.receive(fresh, payee, payer).status_code == 201

    totals = reconcile(short_ttl)

    assert totals.expired == 1
    tap = assert_failed(short_ttl, lone, ["expired"], [payer], {payer: 10_000, payee: 0})
    assert tap["receiver"] is None and tap["sender"]["status"] == "failed"
    assert read_tap(short_ttl, fresh)["status"] == "awaiting_sender"


def test_an_expiry_pass_fails_at_most_its_limit_of_lone_halves_oldest_first(deferred, payer):
    # Sent, and aged, in an order that is not their age's: the oldest is the one sent second.
    keys = [uuid.uuid4() for _ in range(3)]
    for hours_old, key in zip((1, 3, 2), keys, strict=True):
        assert deferred.send(key, payer).status_code == 201
        age_taps(db.session, [key], timedelta(hours=hours_old))
    # Oldest first whatever the plan: a scan of the table, as a long backlog may get, returns
    # rows as they lie, not by age.
    for scan in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
        db.session.execute(text(f"SET LOCAL {scan} = off"))

    assert expire_lone_halves(db.session, ttl=timedelta(seconds=120), limit=2) == 2
    db.session.commit()
    statuses = [read_tap(deferred, key)["status"] for key in keys]
    assert statuses == ["awaiting_receiver", "failed", "failed"]
    assert expire_lone_halves(db.session, ttl=timedelta(seconds=120), limit=2) == 1
    db.session.commit()
    assert_failed(deferred, keys[0], ["expired"], [payer], {payer: 10_000})


def test_a_lone_half_exactly_the_ttl_old_waits_and_one_a_microsecond_older_expires(deferred, payer):
    # As the rules judge a pair's halves: only past the TTL is too late. One transaction, so
    # now() is the same instant for the ageing and for the expiry pass.
    exact, older = uuid.uuid4(), uuid.uuid4()
    for key in (exact, older):
        assert deferred.send(key, payer).status_code == 201
    for key, beyond in ((exact, "0"), (older, "1 microsecond")):
        db.session.execute(
            text(
                "UPDATE tap_queue SET created_at = now() - interval '120 seconds' "
                "- CAST(:beyond AS interval) WHERE tap_key = :key"
            ),
            {"key": key, "beyond": beyond},
        )

    assert expire_lone_halves(db.session, ttl=timedelta(seconds=120), limit=10) == 1
    statuses = dict(db.session.execute(text("SELECT key, status FROM taps")).all())
    db.session.rollback()
    assert statuses == {exact: "awaiting_receiver", older: "failed"}


def test_a_half_arriving_after_its_partner_expired_is_acknowledged_and_fails(short_ttl):
    payer, payee = short_ttl.account("Ada", deposit=10_000), short_ttl.account("Bob")
    key = uuid.uuid4()
    assert short_ttl.send(key, payer).status_code == 201
    time.sleep(1.2)
    assert reconcile(short_ttl).expired == 1
    expired_failure = read_tap(short_ttl, key)["failure"]

    late = short_ttl.receive(key, payee, payer)

    assert late.status_code == 201
    assert late.json["status"] == "failed"
    assert late.json["receiver"]["status"] == "failed"
    assert late.json["failure"] == expired_failure
    replay = short_ttl.receive(key, payee, payer, _same_body(late.json["receiver"], payer))
    assert (replay.status_code, replay.json) == (200, late.json)
    other = short_ttl.receive(
        key, payee, payer, {**_same_body(late.json["receiver"], payer), "amount": 7}
    )
    assert other.status_code == 409 and other.json["error"] == "half_conflict"
    assert read_tap(short_ttl, key) == late.json
    again = reconcile(short_ttl)
    assert (again.settled, again.failed, again.expired) == (0, 0, 0)
    tap = assert_failed(short_ttl, key, ["expired"], [payer, payee], {payer: 10_000, payee: 0})
    assert tap["sender"]["status"] == tap["receiver"]["status"] == "failed"


def _same_body(half: dict, payer: factories.TestAccount) -> dict:
    """The body a phone sent for this receiver half, to replay it."""
    return {
        "sender_account_id": payer.id,
        "amount": half["amount"],
        "currency": half["currency"],
        "device": half["device"],
        "tapped_at": half["tapped_at"],
    }


# -- several reasons at once ---------------------------------------------------------------------


def test_every_legacy_reason_at_once_is_listed_with_its_code(deferred, runner, payee, stranger):
    short = deferred.account("Dee", deposit=100)
    key = matched_pair(
        deferred, short, payee, 1250, sender_account_id=stranger.id, receiver_amount=999
    )
    shift_arrival(key, "sender", 600)

    result = runner.invoke(args=["reconcile"])

    assert result.exit_code == 0, result.output
    assert "failed 1" in result.output
    for reason in ("insufficient_funds", "sender_mismatch", "amount_mismatch", "expired"):
        assert f"failed for {reason}: 1" in result.output
    tap = assert_failed(
        deferred,
        key,
        ["insufficient_funds", "sender_mismatch", "amount_mismatch", "expired"],
        [short, payee],
        {short: 100, payee: 0, stranger: 500},
    )
    assert [reason["legacy_code"] for reason in tap["failure"]["reasons"]] == [100, 200, 300, 500]


def test_all_eight_reasons_at_once_are_all_listed(deferred, stranger):
    frozen = deferred.account("Dee", deposit=100)
    key = uuid.uuid4()
    receiver = deferred.receiver_body(stranger, 999, "EUR")
    assert deferred.receive(key, frozen, stranger, receiver).status_code == 201
    # The receiver half came first; the payer's half then binds the tap to someone else.
    sender = deferred.sender_body(1250, receiver_account_id=stranger.id)
    assert deferred.send(key, frozen, sender).json["status"] == "matched"
    shift_arrival(key, "sender", 600)
    path = f"/api/v1/accounts/{frozen.id}"
    patched = deferred.client.patch(path, json={"status": "frozen"}, headers=deferred.admin_headers)
    assert patched.status_code == 200

    reconcile(deferred)

    assert_failed(deferred, key, list(LEGACY), [frozen], {frozen: 100, stranger: 500})


# -- ordering within a batch ---------------------------------------------------------------------


def test_transfers_from_one_account_apply_in_arrival_order_against_what_earlier_ones_left(
    deferred, payee
):
    payer = deferred.account("Dee", deposit=100)
    # Keys in descending order, so an order by key alone would be the reverse of arrival.
    keys = sorted((uuid.uuid4() for _ in range(3)), reverse=True)
    for key, amount in zip(keys, (60, 60, 40), strict=True):
        assert deferred.send(key, payer, deferred.sender_body(amount)).status_code == 201
        receiver = deferred.receiver_body(payer, amount)
        assert deferred.receive(key, payee, payer, receiver).json["status"] == "matched"

    totals = reconcile(deferred)

    assert (totals.batches, totals.settled, totals.failed) == (1, 2, 1)
    assert [read_tap(deferred, key)["status"] for key in keys] == ["settled", "failed", "settled"]
    assert read_tap(deferred, keys[1])["failure"]["reasons"] == [
        {"reason": "insufficient_funds", "legacy_code": 100}
    ]
    assert (deferred.balance(payer), deferred.balance(payee)) == (0, 100)
    taps = [item for item in history(deferred, payer) if item["kind"] == "tap"]
    # Newest first: the 40 left nothing, the first 60 left 40.
    assert [(item["tap_key"], item["balance_after"]) for item in taps] == [
        (str(keys[2]), 0),
        (str(keys[0]), 40),
    ]


def test_pairs_that_matched_at_the_same_instant_are_judged_in_key_order(deferred, payee):
    payer = deferred.account("Dee", deposit=60)
    # The higher key matched first, so its rows lie first in the tables.
    keys = sorted((uuid.uuid4() for _ in range(2)), reverse=True)
    for key in keys:
        assert deferred.send(key, payer, deferred.sender_body(60)).status_code == 201
        receiver = deferred.receiver_body(payer, 60)
        assert deferred.receive(key, payee, payer, receiver).json["status"] == "matched"
    for table, column in (("taps", "key"), ("tap_queue", "tap_key")):
        db.session.execute(
            text(f"UPDATE {table} SET matched_at = now() WHERE {column} = ANY(:keys)"),
            {"keys": keys},
        )
    db.session.commit()

    with deferred.app.app_context():
        # Taken by a sort, as a plan may, not in the order the queue's index happens to keep.
        db.session.execute(text("SET LOCAL enable_indexscan = off"))
        db.session.execute(text("SET LOCAL enable_bitmapscan = off"))
        result = settle_batch(db.session, limit=10, ttl=timedelta(seconds=120))
        db.session.commit()

    assert (result.settled, result.failed) == (1, 1)
    assert [read_tap(deferred, key)["status"] for key in keys] == ["failed", "settled"]


# -- the inline attempt --------------------------------------------------------------------------


@pytest.mark.parametrize("sender_first", [True, False], ids=["sender-first", "receiver-first"])
def test_the_second_put_answers_settled_when_inline_settlement_is_on(client, factory, sender_first):
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    second = factory.halves_in_order(uuid.uuid4(), payer, payee, sender_first)

    assert second.status_code == 201
    assert second.json["status"] == "settled"
    assert second.json["transfer"]["amount"] == 1250
    assert jobs.in_app_context(factory.app, jobs.reconcile_all).settled == 0
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


def test_the_second_put_answers_failed_with_reasons_when_inline_settlement_fails(client, factory):
    payer, payee = factory.account("Ada", deposit=100), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer, factory.sender_body(1250)).status_code == 201

    second = factory.receive(key, payee, payer, factory.receiver_body(payer, 1000))

    assert second.status_code == 201
    assert second.json["status"] == "failed"
    assert second.json["failure"]["reasons"] == [
        {"reason": "insufficient_funds", "legacy_code": 100},
        {"reason": "amount_mismatch", "legacy_code": 300},
    ]
    assert_failed(factory, key, ["insufficient_funds", "amount_mismatch"], [payer, payee], {})


def test_the_inline_attempt_applies_the_ttl_too(app, apps, admin_headers):
    short_ttl = apps(TAPBANK_TAP_TTL_SECONDS=1)
    factory = Factory(short_ttl, short_ttl.test_client(), admin_headers)
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.receive(key, payee, payer).status_code == 201
    time.sleep(1.2)

    second = factory.send(key, payer)

    assert second.status_code == 201
    assert second.json["status"] == "failed"
    assert second.json["failure"]["reasons"] == [{"reason": "expired", "legacy_code": 500}]
    assert (factory.balance(payer), factory.balance(payee)) == (10_000, 0)


def queue_entries_kept():
    """A real trigger that keeps every tap_queue row from being deleted while it stands, so a
    batch that ends its taps finds rows changed under it."""
    return trigger("tap_queue", "BEFORE DELETE", "RETURN NULL;")


def new_transfers_refused():
    """A real trigger that makes the database refuse every new transfer while it stands."""
    return trigger("transfers", "BEFORE INSERT", "RAISE EXCEPTION 'refused by the test';")


def test_an_inline_attempt_the_database_refuses_still_takes_the_half_matched(factory):
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key = uuid.uuid4()

    with new_transfers_refused():
        second = factory.halves_in_order(key, payer, payee, sender_first=True)

    assert (second.status_code, second.json["status"]) == (201, "matched")
    assert second.json["sender"] is not None and second.json["receiver"] is not None
    assert reconcile(factory).settled == 1
    assert read_tap(factory, str(key))["status"] == "settled"
    assert (factory.balance(payer), factory.balance(payee)) == (8_750, 1_250)


def connection_ended_at_the_first_transfer():
    """A real trigger: the session writing a transfer is terminated by the server, as when
    PostgreSQL shuts down under it."""
    return trigger(
        "transfers", "BEFORE INSERT", "PERFORM pg_terminate_backend(pg_backend_pid()); RETURN NEW;"
    )


def test_a_put_whose_connection_ends_during_inline_settlement_answers_its_half_matched(factory):
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    half = factory.receiver_body(payer)

    with connection_ended_at_the_first_transfer():
        ended = factory.receive(key, payee, payer, half)

    # The half was committed before the attempt began: it is taken, the pair waits for the
    # workers, and the answer says so rather than a 503 that would say nothing was stored.
    assert (ended.status_code, ended.json["status"]) == (201, "matched")
    assert ended.json["receiver"]["account_id"] == payee.id
    assert read_tap(factory, key)["status"] == "matched"
    again = factory.receive(key, payee, payer, half)  # the phone's retry: a replay
    assert (again.status_code, again.json["status"]) == (200, "matched")
    assert reconcile(factory).settled == 1
    assert (factory.balance(payer), factory.balance(payee)) == (8_750, 1_250)


def test_an_inline_attempt_that_finds_a_row_changed_leaves_the_pair_to_the_reconciler(factory):
    payer, payee = factory.account("Ada", deposit=10_000), factory.account("Bob")

    with queue_entries_kept():
        second = factory.halves_in_order(uuid.uuid4(), payer, payee, sender_first=True)

    assert (second.status_code, second.json["status"]) == (201, "matched")
    assert db.session.scalar(select(func.count()).select_from(Transfer)) == 1  # the deposit
    assert reconcile(factory).settled == 1
    assert read_tap(factory, second.json["key"])["status"] == "settled"
    assert (factory.balance(payer), factory.balance(payee)) == (8_750, 1_250)


def test_a_pair_another_transaction_holds_is_skipped_not_waited_on(
    deferred, payer, payee, database_url
):
    held_key = matched_pair(deferred, payer, payee, amount=100)
    free_key = matched_pair(deferred, payer, payee, amount=200)
    with psycopg.connect(libpq_url(database_url)) as holder:
        holder.execute("SELECT 1 FROM taps WHERE key = %s FOR UPDATE", (held_key,))
        started = time.monotonic()
        with deferred.app.app_context():
            db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
            result = settle_batch(db.session, limit=10, ttl=timedelta(seconds=120))
            db.session.commit()
        assert time.monotonic() - started < 2
        assert result.settled == 1
        holder.rollback()
    assert read_tap(deferred, held_key)["status"] == "matched"
    assert read_tap(deferred, free_key)["status"] == "settled"
    assert reconcile(deferred).settled == 1
    assert read_tap(deferred, held_key)["status"] == "settled"


def test_a_batch_takes_exactly_its_limit_oldest_match_first(deferred, payer, payee):
    first, second, third = (matched_pair(deferred, payer, payee, amount=100) for _ in range(3))

    with deferred.app.app_context():
        result = settle_batch(db.session, limit=2, ttl=timedelta(seconds=120))
        db.session.commit()

    assert result.settled == 2
    assert [read_tap(deferred, key)["status"] for key in (first, second, third)] == [
        "settled",
        "settled",
        "matched",
    ]


def test_ending_taps_is_planned_for_each_batch_not_prepared_once_for_all(deferred):
    # psycopg prepares a statement on its fifth run; the database's plan made for any keys
    # loops over the whole key array once per row (see tapbank.driver.execute_unprepared).
    prepared = text("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
    with deferred.app.app_context():
        accounts = seed_accounts(db.session, 4, 1_000_000)
        seed_matched_pairs(db.session, accounts[:2], accounts[2:], 8, 125)
        # One transaction, so one connection runs every batch and is asked what it prepared.
        settled = sum(
            settle_batch(db.session, limit=1, ttl=timedelta(seconds=120)).settled for _ in range(8)
        )
        statements = db.session.scalars(prepared).all()
        db.session.commit()

    assert settled == 8
    # What this looks for is there to see: the take query, run as often, was prepared.
    assert any("FROM tap_queue JOIN taps" in statement for statement in statements)
    assert not [s for s in statements if "UPDATE taps" in s or "DELETE FROM tap_queue" in s]


def test_a_batch_holding_its_accounts_lets_their_new_halves_in(deferred, factory, payer, payee):
    # A batch locks its accounts FOR NO KEY UPDATE: a new half's foreign-key check of its
    # account (FOR KEY SHARE) goes on beside the open batch instead of waiting for its commit.
    key = uuid.uuid4()
    deferred.send(key, payer)
    assert deferred.receive(key, payee, payer).json["status"] == "matched"
    answers = []
    new_half = threading.Thread(
        target=lambda: answers.append(factory.send(uuid.uuid4(), payer).status_code)
    )
    with deferred.app.app_context():
        assert settle_batch(db.session, limit=10, ttl=timedelta(seconds=120)).settled == 1
        new_half.start()
        new_half.join(timeout=10)
        answered_while_the_batch_was_open = not new_half.is_alive()
        db.session.commit()
    new_half.join()

    assert answered_while_the_batch_was_open
    assert answers == [201]


def test_setting_balances_rewrites_each_account_in_place(deferred):
    # A HOT update: each account's next balance fits on its own page (fillfactor, migration
    # 0005), so no index of accounts is written. Enough accounts to fill several pages, each
    # paying or paid once, so that every one of them gets a new balance.
    updates = text(
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'accounts'"
    )
    with deferred.app.app_context():
        accounts = seed_accounts(db.session, 400, 1_000_000)
        seed_matched_pairs(db.session, accounts[:200], accounts[200:], 200, 125)
        db.session.commit()

        before = db.session.execute(updates).one()
        result = settle_batch(db.session, limit=200, ttl=timedelta(seconds=120))
        after = db.session.execute(updates).one()
        db.session.commit()

    assert result.settled == 200
    assert (after[0] - before[0], after[1] - before[1]) == (400, 400)


def test_settling_rewrites_each_tap_in_place_and_leaves_its_halves_alone(deferred):
    # A HOT update: each tap's settled version fits on its own page (fillfactor, migration
    # 0004) and changes no indexed column, so the tap-key index is not written at random.
    # The halves are kept as received: settling never writes them.
    updates = text(
        "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
        "WHERE relname IN ('taps', 'halves')"
    )

    def counted() -> dict[str, tuple[int, int]]:
        return {name: (updated, hot) for name, updated, hot in db.session.execute(updates)}

    with deferred.app.app_context():
        accounts = seed_accounts(db.session, 20, 1_000_000)
        seed_matched_pairs(db.session, accounts[:10], accounts[10:], 500, 125)
        db.session.commit()

        # Counted as a difference: the counters may still hold earlier, unflushed transactions.
        before = counted()
        result = settle_batch(db.session, limit=500, ttl=timedelta(seconds=120))
        after = counted()
        db.session.commit()

    assert result.settled == 500
    changes = {
        name: (after[name][0] - before[name][0], after[name][1] - before[name][1]) for name in after
    }
    assert changes == {"taps": (500, 500), "halves": (0, 0)}
