"""The settlement rules: given a pair and its accounts, every reason it must fail."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from tapbank.taps.reasons import Reason


@dataclass(frozen=True)
class PairedHalves:
    """The facts of a matched pair that the rules read; ids as the database prints them."""

    tap_key: str
    payer_id: str  # the sender half's authenticated account
    payee_id: str  # the receiver half's authenticated account
    expected_payer_id: str  # whom the receiver said would pay
    named_payee_id: str | None  # whom the sender bound the tap to, if anyone
    sender_amount: int
    receiver_amount: int
    sender_currency: str
    receiver_currency: str
    sender_received_at: datetime
    receiver_received_at: datetime


@dataclass(frozen=True)
class AccountState:
    """What the rules need of an account, as locked for this batch."""

    currency: str
    active: bool


def reasons_against(
    pair: PairedHalves,
    payer: AccountState,
    payee: AccountState,
    payer_balance: int,
    ttl: timedelta,
) -> list[Reason]:
    """Every reason this pair may not settle, in the contract's order; empty means settle."""
    reasons = []
    if payer_balance < pair.sender_amount:
        reasons.append(Reason.INSUFFICIENT_FUNDS)
    if pair.expected_payer_id != pair.payer_id:
        reasons.append(Reason.SENDER_MISMATCH)
    if pair.sender_amount != pair.receiver_amount:
        reasons.append(Reason.AMOUNT_MISMATCH)
    if abs(pair.sender_received_at - pair.receiver_received_at) > ttl:
        reasons.append(Reason.EXPIRED)
    currencies = {pair.sender_currency, pair.receiver_currency, payer.currency, payee.currency}
    if len(currencies) > 1:
        reasons.append(Reason.CURRENCY_MISMATCH)
    if pair.payer_id == pair.payee_id:
        reasons.append(Reason.SELF_TRANSFER)
    if not (payer.active and payee.active):
        reasons.append(Reason.ACCOUNT_INACTIVE)
    if pair.named_payee_id is not None and pair.named_payee_id != pair.payee_id:
        reasons.append(Reason.RECEIVER_MISMATCH)
    return reasons
