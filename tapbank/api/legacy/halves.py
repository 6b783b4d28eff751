"""A legacy request as the very half a v1 PUT makes: the account by its legacy user id, the
amount in the account's currency's minor units, the phone's platform as the device's os."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tapbank.currencies import in_major_units, minor_digits, whole_minor_units
from tapbank.errors import ApiError
from tapbank.models import Account, AccountType, Side, TapStatus
from tapbank.taps.intake import TAKE_TAP, HalfSubmission
from tapbank.taps.queries import HALVES


@dataclass(frozen=True)
class Caller:
    """The account whose key sent the request, as a legacy half needs it."""

    id: uuid.UUID
    currency: str
    legacy_user_id: int | None


def caller_claiming(session: Session, account_id: uuid.UUID, user_id: int) -> Caller:
    """The caller's account, which must be the one the body's user_id names: 403 otherwise."""
    row = session.execute(
        select(Account.id, Account.currency, Account.legacy_user_id).where(Account.id == account_id)
    ).one()
    caller = Caller(*row)
    if caller.legacy_user_id != user_id:
        raise ApiError(
            403,
            "user_id_mismatch",
            "user_id is not the legacy_user_id of the account whose key was sent.",
        )
    return caller


def sender_half(caller: Caller, fields: dict) -> HalfSubmission:
    """POST /send/ as the payer's half."""
    return HalfSubmission(
        tap_key=fields["key"],
        side=Side.SENDER,
        account_id=caller.id,
        sender_account_id=caller.id,
        amount=_minor_units(fields, "transfer_amount", caller.currency),
        currency=caller.currency,
        device_os=fields["os_sender"],
        device_model=None,
        tapped_at=fields["transaction_time"],
    )


def receiver_half(session: Session, caller: Caller, fields: dict) -> HalfSubmission:
    """POST /recieve/ as the payee's half; the payer is named by its legacy user id."""
    payer_id = _account_named(session, fields["sender_id"])
    if payer_id is None:
        raise _invalid("sender_id", "No account has this legacy_user_id.")
    amount = _minor_units(fields, "expected_amount", caller.currency)
    return HalfSubmission(
        tap_key=fields["key"],
        side=Side.RECEIVER,
        account_id=caller.id,
        sender_account_id=payer_id,
        amount=amount,
        currency=caller.currency,
        device_os=fields["os_receiver"],
        device_model=None,
        tapped_at=_receipt_time(session, fields["key"], caller.id),
    )


def _minor_units(fields: dict, name: str, currency: str) -> int:
    """The amount field name holds, in minor units of currency: 422 naming it if it cannot be."""
    major = fields[name]
    maximum = in_major_units(current_app.config["TAPBANK_MAX_TRANSFER_MINOR"], currency)
    # Against the maximum first: whole_minor_units must not be given an enormous exponent.
    if major > maximum:
        raise _invalid(name, f"Must be at most {maximum} {currency}.")
    minor = whole_minor_units(major, currency)
    if minor is None:
        raise _invalid(name, f"Must have at most {minor_digits(currency)} decimals in {currency}.")
    return minor


def _account_named(session: Session, legacy_user_id: int) -> uuid.UUID | None:
    """The id of the customer account with this legacy user id, if one has it."""
    return session.execute(
        select(Account.id).where(
            Account.legacy_user_id == legacy_user_id,
            Account.account_type != AccountType.FUNDING,
        )
    ).scalar_one_or_none()


def _invalid(name: str, message: str) -> ApiError:
    """The 422 of a field the schema let through but the accounts refuse."""
    return ApiError(422, "validation_failed", f"Invalid fields: {name}.", errors={name: [message]})


def _receipt_time(session: Session, key: uuid.UUID, account_id: uuid.UUID) -> datetime:
    """The receiver half's tapped_at: when the server first took it from this account.

    AISBackend's receiver sends no time of its own, and a replay must carry the same time to be
    the same half. So the tap's row is locked first, as intake locks it, and a receiver half
    this account already sent lends its time; otherwise it is the transaction's now(), which is
    also the new half's received_at.
    """
    session.execute(TAKE_TAP, {"key": key, "status": TapStatus.AWAITING_SENDER})
    sent_before = (
        select(HALVES.c.tapped_at)
        .where(
            HALVES.c.tap_key == key,
            HALVES.c.side == Side.RECEIVER,
            HALVES.c.account_id == account_id,
        )
        .scalar_subquery()
    )
    return session.execute(select(func.coalesce(sent_before, func.now()))).scalar_one()
