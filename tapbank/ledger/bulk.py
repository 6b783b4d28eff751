"""Writing a batch of tap outcomes to the ledger in a few set-based statements."""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import ARRAY, BigInteger, Uuid, bindparam, text
from sqlalchemy.orm import Session

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


TRANSFER_COLUMNS = (
    "id",
    "kind",
    "tap_key",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "currency",
)
ENTRY_COLUMNS = ("transfer_id", "account_id", "amount", "balance_after")
FAILURE_COLUMNS = ("id", "tap_key", "reasons", "message")


@dataclass
class Outcomes:
    """Rows to write for one batch, in COPY column order, and which tap got which outcome."""

    transfers: list[tuple] = field(default_factory=list)
    entries: list[tuple] = field(default_factory=list)
    failures: list[tuple] = field(default_factory=list)
    settled_keys: list[uuid.UUID] = field(default_factory=list)
    settled_transfer_ids: list[uuid.UUID] = field(default_factory=list)
    failed_keys: list[uuid.UUID] = field(default_factory=list)
    failure_ids: list[uuid.UUID] = field(default_factory=list)

    def settle(self, movement: Movement) -> None:
        transfer_id = uuid.uuid4()
        self.transfers.append(
            (
                transfer_id,
                "tap",
                movement.tap_key,
                movement.payer_id,
                movement.payee_id,
                movement.amount,
                movement.currency,
            )
        )
        self.entries.append(
            (transfer_id, movement.payer_id, -movement.amount, movement.payer_balance_after)
        )
        self.entries.append(
            (transfer_id, movement.payee_id, movement.amount, movement.payee_balance_after)
        )
        self.settled_keys.append(movement.tap_key)
        self.settled_transfer_ids.append(transfer_id)

    def fail(self, tap_key: uuid.UUID, reasons: list[str], message: str) -> None:
        failure_id = uuid.uuid4()
        self.failures.append((failure_id, tap_key, reasons, message))
        self.failed_keys.append(tap_key)
        self.failure_ids.append(failure_id)


class ConcurrentChange(RuntimeError):
    """A row was not in the state the batch locked it in: the batch must roll back."""


def write_outcomes(session: Session, outcomes: Outcomes, balances: dict[uuid.UUID, int]) -> None:
    """Insert transfers, entries and failures, set balances, and end the matched taps."""
    if outcomes.transfers:
        _copy(session, "transfers", TRANSFER_COLUMNS, outcomes.transfers)
        _copy(session, "entries", ENTRY_COLUMNS, outcomes.entries)
        _set_balances(session, balances)
    if outcomes.failures:
        _copy(session, "failures", FAILURE_COLUMNS, outcomes.failures)
    end_taps(session, outcomes.settled_keys, outcomes.settled_transfer_ids, settled=True)
    end_taps(session, outcomes.failed_keys, outcomes.failure_ids, settled=False)


def write_expiries(session: Session, outcomes: Outcomes) -> None:
    """Insert the failures of lone halves and end their taps."""
    if outcomes.failures:
        _copy(session, "failures", FAILURE_COLUMNS, outcomes.failures)
        end_taps(session, outcomes.failed_keys, outcomes.failure_ids, settled=False, lone=True)


def _copy(session: Session, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """COPY rows into table on the session's own connection, inside its transaction.

    Rows go in list order, so entries take ascending ids in the order their balances ran.
    """
    driver_connection = session.connection().connection.driver_connection
    with driver_connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _set_balances(session: Session, balances: dict[uuid.UUID, int]) -> None:
    session.execute(
        text(
            "UPDATE accounts SET balance = moved.balance "
            "FROM unnest(:ids, :balances) AS moved(id, balance) "
            "WHERE accounts.id = moved.id AND accounts.balance IS DISTINCT FROM moved.balance"
        ).bindparams(bindparam("ids", type_=UUID_ARRAY), bindparam("balances", type_=BIGINT_ARRAY)),
        {"ids": list(balances), "balances": list(balances.values())},
    )


def end_taps(
    session: Session,
    keys: list[uuid.UUID],
    outcome_ids: list[uuid.UUID],
    *,
    settled: bool,
    lone: bool = False,
) -> None:
    """Mark taps and their halves ended, re-checking in SQL the state each was taken in.

    A matched tap has two pending halves; a lone one (awaiting its partner) has one. Any other
    count means a row changed under the batch, which then rolls back whole.
    """
    if not keys:
        return
    column = "transfer_id" if settled else "failure_id"
    taken_in = (
        "status IN ('awaiting_sender', 'awaiting_receiver')" if lone else "status = 'matched'"
    )
    params = {
        "keys": keys,
        "outcome_ids": outcome_ids,
        "status": "settled" if settled else "failed",
    }
    arrays = [bindparam("keys", type_=UUID_ARRAY), bindparam("outcome_ids", type_=UUID_ARRAY)]
    taps = session.execute(
        text(
            f"UPDATE taps SET status = CAST(:status AS tap_status), {column} = ended.outcome_id, "
            "ended_at = now() FROM unnest(:keys, :outcome_ids) AS ended(key, outcome_id) "
            # "= ANY" lets the planner go by primary key whatever its row estimates say.
            f"WHERE taps.key = ANY(:keys) AND taps.key = ended.key AND taps.{taken_in}"
        ).bindparams(*arrays),
        params,
    )
    halves = session.execute(
        text(
            f"UPDATE halves SET status = CAST(:status AS half_status), {column} = ended.outcome_id "
            "FROM unnest(:keys, :outcome_ids) AS ended(key, outcome_id) "
            "WHERE halves.tap_key = ANY(:keys) AND halves.tap_key = ended.key "
            "AND halves.status = 'pending'"
        ).bindparams(*arrays),
        params,
    )
    halves_each = 1 if lone else 2
    if taps.rowcount != len(keys) or halves.rowcount != halves_each * len(keys):
        raise ConcurrentChange(
            f"expected {len(keys)} taps with {halves_each} pending halves each; "
            f"ended {taps.rowcount} taps and {halves.rowcount} halves"
        )
