"""The settlement rules alone: each reason by itself, several at once, and the edges."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tapbank.taps.reasons import Reason
from tapbank.taps.rules import AccountState, PairedHalves, reasons_against

TTL = timedelta(seconds=120)
ARRIVED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PAYER, PAYEE, STRANGER = (str(uuid.uuid4()) for _ in range(3))
ACTIVE_USD = AccountState(currency="USD", active=True)


def pair(**changes) -> PairedHalves:
    """A pair that settles: the halves agree, a second apart, USD, 1250 from payer to payee."""
    agreed = PairedHalves(
        tap_key=str(uuid.uuid4()),
        payer_id=PAYER,
        payee_id=PAYEE,
        expected_payer_id=PAYER,
        named_payee_id=None,
        sender_amount=1250,
        receiver_amount=1250,
        sender_currency="USD",
        receiver_currency="USD",
        sender_received_at=ARRIVED,
        receiver_received_at=ARRIVED + timedelta(seconds=1),
    )
    return replace(agreed, **changes)


def reasons(
    paired: PairedHalves | None = None,
    payer: AccountState = ACTIVE_USD,
    payee: AccountState = ACTIVE_USD,
    balance: int = 10_000,
) -> list[Reason]:
    return reasons_against(paired or pair(), payer, payee, balance, TTL)


def test_a_pair_that_agrees_between_funded_active_accounts_settles():
    assert reasons() == []


def test_a_transfer_of_exactly_the_balance_settles():
    assert reasons(balance=1250) == []


def test_a_transfer_of_one_more_than_the_balance_is_insufficient_funds():
    assert reasons(balance=1249) == [Reason.INSUFFICIENT_FUNDS]


def test_a_payee_expecting_another_payer_is_a_sender_mismatch():
    assert reasons(pair(expected_payer_id=STRANGER)) == [Reason.SENDER_MISMATCH]


def test_halves_with_different_amounts_are_an_amount_mismatch():
    assert reasons(pair(receiver_amount=1251)) == [Reason.AMOUNT_MISMATCH]


def test_the_payers_half_is_the_amount_checked_against_the_balance():
    # The payee expecting less does not make a transfer the payer cannot cover settle.
    assert reasons(pair(sender_amount=2000, receiver_amount=1000), balance=1500) == [
        Reason.INSUFFICIENT_FUNDS,
        Reason.AMOUNT_MISMATCH,
    ]


@pytest.mark.parametrize("receiver_first", [False, True], ids=["sender-first", "receiver-first"])
def test_halves_further_apart_than_the_ttl_are_expired_whichever_came_first(receiver_first):
    later = ARRIVED + TTL + timedelta(microseconds=1)
    times = {"sender_received_at": ARRIVED, "receiver_received_at": later}
    if receiver_first:
        times = {"sender_received_at": later, "receiver_received_at": ARRIVED}
    assert reasons(pair(**times)) == [Reason.EXPIRED]


def test_halves_exactly_the_ttl_apart_are_in_time():
    assert reasons(pair(receiver_received_at=ARRIVED + TTL)) == []


@pytest.mark.parametrize(
    ("changes", "payer", "payee"),
    [
        pytest.param({"sender_currency": "EUR"}, ACTIVE_USD, ACTIVE_USD, id="sender-half"),
        pytest.param({"receiver_currency": "EUR"}, ACTIVE_USD, ACTIVE_USD, id="receiver-half"),
        pytest.param({}, AccountState("EUR", True), ACTIVE_USD, id="payer-account"),
        pytest.param({}, ACTIVE_USD, AccountState("EUR", True), id="payee-account"),
        pytest.param(
            {"sender_currency": "EUR", "receiver_currency": "EUR"},
            ACTIVE_USD,
            ACTIVE_USD,
            id="both-halves-against-the-accounts",
        ),
    ],
)
def test_any_currency_unlike_the_others_is_a_currency_mismatch(changes, payer, payee):
    assert reasons(pair(**changes), payer, payee) == [Reason.CURRENCY_MISMATCH]


def test_a_pair_entirely_in_another_currency_settles():
    eur = AccountState(currency="EUR", active=True)
    assert reasons(pair(sender_currency="EUR", receiver_currency="EUR"), eur, eur) == []


def test_an_account_paying_itself_is_a_self_transfer():
    assert reasons(pair(payee_id=PAYER)) == [Reason.SELF_TRANSFER]


@pytest.mark.parametrize("frozen", ["payer", "payee"])
def test_a_frozen_party_makes_the_tap_fail_as_account_inactive(frozen):
    inactive = AccountState(currency="USD", active=False)
    parties = {"payer": ACTIVE_USD, "payee": ACTIVE_USD, frozen: inactive}
    assert reasons(payer=parties["payer"], payee=parties["payee"]) == [Reason.ACCOUNT_INACTIVE]


def test_a_tap_bound_to_its_payee_settles_with_that_payee():
    assert reasons(pair(named_payee_id=PAYEE)) == []


def test_a_tap_bound_to_another_payee_is_a_receiver_mismatch():
    assert reasons(pair(named_payee_id=STRANGER)) == [Reason.RECEIVER_MISMATCH]


def test_every_reason_that_applies_is_listed_in_the_contracts_order():
    everything_wrong = pair(
        payee_id=PAYER,
        expected_payer_id=STRANGER,
        named_payee_id=STRANGER,
        receiver_amount=99,
        receiver_currency="EUR",
        receiver_received_at=ARRIVED + timedelta(hours=1),
    )
    frozen = AccountState(currency="USD", active=False)

    assert reasons(everything_wrong, frozen, frozen, balance=0) == [
        Reason.INSUFFICIENT_FUNDS,
        Reason.SENDER_MISMATCH,
        Reason.AMOUNT_MISMATCH,
        Reason.EXPIRED,
        Reason.CURRENCY_MISMATCH,
        Reason.SELF_TRANSFER,
        Reason.ACCOUNT_INACTIVE,
        Reason.RECEIVER_MISMATCH,
    ]


def test_two_reasons_together_are_both_listed():
    mismatched = pair(expected_payer_id=STRANGER, receiver_amount=1)
    assert reasons(mismatched) == [Reason.SENDER_MISMATCH, Reason.AMOUNT_MISMATCH]
