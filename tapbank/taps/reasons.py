"""Why a tap fails: the contract's reasons, their legacy codes and their sentences."""

import enum


class Reason(enum.StrEnum):
    INSUFFICIENT_FUNDS = "insufficient_funds"
    SENDER_MISMATCH = "sender_mismatch"
    AMOUNT_MISMATCH = "amount_mismatch"
    EXPIRED = "expired"
    CURRENCY_MISMATCH = "currency_mismatch"
    SELF_TRANSFER = "self_transfer"
    ACCOUNT_INACTIVE = "account_inactive"
    RECEIVER_MISMATCH = "receiver_mismatch"


LEGACY_CODES = {
    Reason.INSUFFICIENT_FUNDS: 100,
    Reason.SENDER_MISMATCH: 200,
    Reason.AMOUNT_MISMATCH: 300,
    Reason.EXPIRED: 500,
}

SENTENCES = {
    Reason.INSUFFICIENT_FUNDS: "the payer's balance does not cover the amount",
    Reason.SENDER_MISMATCH: "the payee expected another payer",
    Reason.AMOUNT_MISMATCH: "the two phones sent different amounts",
    Reason.EXPIRED: "the halves did not meet within the time allowed",
    Reason.CURRENCY_MISMATCH: "the currencies of the halves or accounts differ",
    Reason.SELF_TRANSFER: "an account cannot pay itself",
    Reason.ACCOUNT_INACTIVE: "an account in the tap is frozen",
    Reason.RECEIVER_MISMATCH: "the payer named another account as the payee",
}


def describe_reasons(reasons: list[str]) -> list[dict]:
    """Each reason with its legacy numeric code (null where it has none)."""
    return [
        {"reason": reason, "legacy_code": LEGACY_CODES.get(Reason(reason))} for reason in reasons
    ]


def failure_message(reasons: list[Reason]) -> str:
    """One human sentence naming every reason."""
    return "The tap failed: " + "; ".join(SENTENCES[reason] for reason in reasons) + "."
