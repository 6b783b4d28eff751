"""A tap in the contract's shape: its halves as received, how each ended, the transfer or the
failure with every reason."""

from sqlalchemy import Row

from tapbank.models import Failure, Half, HalfStatus, Side, TapStatus
from tapbank.taps.reasons import describe_reasons
from tapbank.taps.records import FailedTap, TapRecord

# A half is pending until its tap ends, then ends as its tap did.
HALF_STATUS = {TapStatus.SETTLED: HalfStatus.SETTLED, TapStatus.FAILED: HalfStatus.FAILED}


def present_tap(record: TapRecord) -> dict:
    """{key, status, sender, receiver, transfer, failure}."""
    return {
        "key": record.key,
        "status": record.status,
        "sender": present_half(record.halves.get(Side.SENDER), record.status),
        "receiver": present_half(record.halves.get(Side.RECEIVER), record.status),
        "transfer": _present_transfer(record.transfer),
        "failure": present_failure(record.failure),
    }


def present_failed_tap(failed: FailedTap) -> dict:
    """A failed tap for the operator: both halves as received and the failure."""
    return {
        "key": failed.failure.tap_key,
        "sender": present_half(failed.halves.get(Side.SENDER), TapStatus.FAILED),
        "receiver": present_half(failed.halves.get(Side.RECEIVER), TapStatus.FAILED),
        "failure": present_failure(failed.failure),
    }


def present_half(half: Half | Row | None, tap_status: TapStatus) -> dict | None:
    """A half as received, with how it ended: as its tap did."""
    if half is None:
        return None
    return {
        "account_id": half.account_id,
        "sender_account_id": half.sender_account_id,
        "receiver_account_id": half.receiver_account_id,
        "amount": half.amount,
        "currency": half.currency,
        "device": {"os": half.device_os, "model": half.device_model},
        "tapped_at": half.tapped_at,
        "received_at": half.received_at,
        "status": HALF_STATUS.get(tap_status, HalfStatus.PENDING),
    }


def present_failure(failure: Failure | Row | None) -> dict | None:
    """Reasons with their legacy codes, the message and the time."""
    if failure is None:
        return None
    return {
        "reasons": describe_reasons(failure.reasons),
        "message": failure.message,
        "failed_at": failure.failed_at,
    }


def _present_transfer(transfer: Row | None) -> dict | None:
    if transfer is None:
        return None
    return {
        "id": transfer.id,
        "sender_account_id": transfer.debit_account_id,
        "receiver_account_id": transfer.credit_account_id,
        "amount": transfer.amount,
        "currency": transfer.currency,
        "settled_at": transfer.created_at,
    }
