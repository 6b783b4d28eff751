"""Moving money for a batch of settled taps: their transfers and balances in two statements."""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from tapbank.driver import array_literal, copy_rows
from tapbank.models import TransferKind
from tapbank.models.types import time_ordered_id_text

# An id as a UUID or as its text: either goes to the database as its str().
Id = uuid.UUID | str

TRANSFER_COLUMNS = (
    "id",
    "kind",
    "tap_key",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
    "debit_balance_after",
    "credit_balance_after",
)

SET_BALANCES = text(
    "UPDATE accounts SET balance = moved.balance "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:balances AS bigint[])) AS moved(id, balance) "
    "WHERE accounts.id = moved.id AND accounts.balance IS DISTINCT FROM moved.balance"
)


@dataclass(frozen=True)
class Movement:
    """A settled tap's money movement, with the balances it leaves."""

    tap_key: Id
    payer_id: Id
    payee_id: Id
    amount: int
    currency: str
    payer_balance_after: int
    payee_balance_after: int


def write_movements(
    session: Session, movements: list[Movement], balances: dict[Id, int]
) -> list[str]:
    """Write one transfer per movement, in order, and set the batch's balances; returns the
    transfer ids in the movements' order."""
    if not movements:
        return []
    transfer_ids = [time_ordered_id_text() for _ in movements]
    transfers = [
        (
            transfer_id,
            TransferKind.TAP.value,
            movement.tap_key,
            movement.payer_id,
            movement.payee_id,
            movement.amount,
            movement.currency,
            movement.payer_balance_after,
            movement.payee_balance_after,
        )
        for transfer_id, movement in zip(transfer_ids, movements, strict=True)
    ]
    # In list order: each row draws its ledger_seq as it goes in, in the order balances ran.
    copy_rows(session, "transfers", TRANSFER_COLUMNS, transfers, plain=True)
    session.execute(
        SET_BALANCES, {"ids": array_literal(balances), "balances": array_literal(balances.values())}
    )
    return transfer_ids
