"""Writing a batch of tap outcomes to the ledger in a few set-based statements."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ARRAY, BigInteger, Uuid, bindparam, insert, text
from sqlalchemy.orm import Session

from tapbank.models import Entry, Failure, Transfer

UUID_ARRAY = ARRAY(Uuid())
BIGINT_ARRAY = ARRAY(BigInteger())


@dataclass(frozen=True)
class Movement:
    """A settled tap's money movement, with the balances it leaves."""

    tap_key: uuid.UUID
    payer_id: uuid.UUID
    payee_id: uuid.UUID
    amount: int
    currency: str
    payer_balance_after: int
    payee_balance_after: int


@dataclass
class Outcomes:
    """Rows to write for one batch: transfers with entries, failures, and which tap got which."""

    transfers: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    settled_keys: list[uuid.UUID] = field(default_factory=list)
    settled_transfer_ids: list[uuid.UUID] = field(default_factory=list)
    failed_keys: list[uuid.UUID] = field(default_factory=list)
    failure_ids: list[uuid.UUID] = field(default_factory=list)

    def settle(self, movement: Movement, at: datetime) -> None:
        transfer_id = uuid.uuid4()
        self.transfers.append(
            {
                "id": transfer_id,
                "kind": "tap",
                "tap_key": movement.tap_key,
                "debit_account_id": movement.payer_id,
                "credit_account_id": movement.payee_id,
                "amount": movement.amount,
                "currency": movement.currency,
                "memo": None,
                "created_at": at,
            }
        )
        self.entries += [
            {"transfer_id": transfer_id, "account_id": movement.payer_id,
             "amount": -movement.amount, "balance_after": movement.payer_balance_after,
             "created_at": at},
            {"transfer_id": transfer_id, "account_id": movement.payee_id,
             "amount": movement.amount, "balance_after": movement.payee_balance_after,
             "created_at": at},
        ]
        self.settled_keys.append(movement.tap_key)
        self.settled_transfer_ids.append(transfer_id)

    def fail(self, tap_key: uuid.UUID, reasons: list[str], message: str, at: datetime) -> None:
        failure_id = uuid.uuid4()
        self.failures.append(
            {"id": failure_id, "tap_key": tap_key, "reasons": reasons, "message": message,
             "failed_at": at}
        )
        self.failed_keys.append(tap_key)
        self.failure_ids.append(failure_id)


class ConcurrentChange(RuntimeError):
    """A row was not in the state the batch locked it in: the batch must roll back."""


def write_outcomes(session: Session, outcomes: Outcomes, balances: dict[uuid.UUID, int]) -> None:
    """Insert transfers, entries and failures, set balances, and end the taps and halves."""
    if outcomes.transfers:
        session.execute(insert(Transfer), outcomes.transfers)
        session.execute(insert(Entry), outcomes.entries)
        _set_balances(session, balances)
    if outcomes.failures:
        session.execute(insert(Failure), outcomes.failures)
    _end_taps(session, outcomes.settled_keys, outcomes.settled_transfer_ids, "settled", "transfer_id")
    _end_taps(session, outcomes.failed_keys, outcomes.failure_ids, "failed", "failure_id")


def _set_balances(session: Session, balances: dict[uuid.UUID, int]) -> None:
    session.execute(
        text(
            "UPDATE accounts SET balance = moved.balance "
            "FROM unnest(:ids, :balances) AS moved(id, balance) "
            "WHERE accounts.id = moved.id AND accounts.balance IS DISTINCT FROM moved.balance"
        ).bindparams(
            bindparam("ids", type_=UUID_ARRAY), bindparam("balances", type_=BIGINT_ARRAY)
        ),
        {"ids": list(balances), "balances": list(balances.values())},
    )


def _end_taps(
    session: Session, keys: list[uuid.UUID], outcome_ids: list[uuid.UUID], status: str, column: str
) -> None:
    """Mark taps and their halves ended, re-checking in SQL that each was still pending."""
    if not keys:
        return
    params = {"keys": keys, "outcome_ids": outcome_ids, "status": status}
    arrays = [bindparam("keys", type_=UUID_ARRAY), bindparam("outcome_ids", type_=UUID_ARRAY)]
    taps = session.execute(
        text(
            f"UPDATE taps SET status = CAST(:status AS tap_status), {column} = ended.outcome_id, "
            "ended_at = now() FROM unnest(:keys, :outcome_ids) AS ended(key, outcome_id) "
            "WHERE taps.key = ended.key AND taps.status = 'matched'"
        ).bindparams(*arrays),
        params,
    )
    halves = session.execute(
        text(
            f"UPDATE halves SET status = CAST(:status AS half_status), {column} = ended.outcome_id "
            "FROM unnest(:keys, :outcome_ids) AS ended(key, outcome_id) "
            "WHERE halves.tap_key = ended.key AND halves.status = 'pending'"
        ).bindparams(*arrays),
        params,
    )
    if taps.rowcount != len(keys) or halves.rowcount != 2 * len(keys):
        raise ConcurrentChange(f"expected {len(keys)} matched taps, ended {taps.rowcount}")

