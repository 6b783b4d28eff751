"""Targets 1-4: seeded backlogs drained by bench.drain workers, each in a fresh database.

A backlog is written by tapbank.devtools.backlog (set-based SQL: accounts funded by deposits,
pairs already matched), analysed and checkpointed, so a measurement times settlement alone.
After every drain the database is asked how the taps ended: a figure whose pairs did not all
settle exactly once is reported with a note, never silently.
"""

from dataclasses import dataclass, field

from bench.database import BenchServer, app_context, maintain, query
from bench.drain import DrainResult, drain
from bench.processes import service_env
from tapbank.devtools.backlog import seed_accounts, seed_matched_pairs
from tapbank.extensions import db

AMOUNT = 125  # minor units per pair
BALANCE = 1_000_000  # enough for every pair a payer makes; x1,000 still fits an int4 bind
SEED_CHUNK = 100_000  # pairs per seeding transaction


@dataclass
class Drained:
    """One drain, and what the database says happened to its backlog."""

    result: DrainResult
    pairs: int
    notes: list[str] = field(default_factory=list)


@dataclass
class Growth:
    """Target 4: speed on the empty tables, the big drain (memory), and speed at its end."""

    empty: Drained
    big: Drained
    after: Drained


class Ledger:
    """A fresh database with funded accounts, where backlogs are seeded and drained."""

    def __init__(self, server: BenchServer, template: str, label: str) -> None:
        self.server = server
        self.url = server.create_database(label, template=template)
        self.env = service_env(self.url, server.admin_key)
        self.seeded = 0  # pairs seeded so far, settled or not

    def open_accounts(self, count: int, balance: int) -> list:
        """count seeded accounts with the given balance each; returns their ids."""
        with app_context(self.url, self.server.admin_key):
            ids = seed_accounts(db.session, count, balance)
            db.session.commit()
        return ids

    def seed_pairs(self, payers: list, payees: list, count: int) -> None:
        """count matched pairs, the i-th from payers[i % len] to payees[i % len]."""
        with app_context(self.url, self.server.admin_key):
            for start in range(0, count, SEED_CHUNK):
                chunk = min(SEED_CHUNK, count - start)
                seed_matched_pairs(db.session, payers, payees, chunk, AMOUNT)
                db.session.commit()
        self.seeded += count
        maintain(self.url, "ANALYZE", "CHECKPOINT")

    def drain(self, pairs: int, workers: int = 1) -> Drained:
        """Drain the backlog with workers processes; check that each pair settled once."""
        drained = Drained(drain(self.env, workers), pairs)
        drained.notes.extend(self.check_settled_once(drained.result, pairs))
        return drained

    def check_settled_once(self, result: DrainResult, pairs: int) -> list[str]:
        """Notes on anything but every pair seeded so far settled exactly once."""
        statuses = dict(query(self.url, "SELECT status::text, count(*) FROM taps GROUP BY 1"))
        transfers, keys = query(
            self.url, "SELECT count(*), count(DISTINCT tap_key) FROM transfers WHERE kind = 'tap'"
        )[0]
        notes = []
        if result.settled != pairs or statuses != {"settled": self.seeded}:
            notes.append(
                f"{pairs:,} pairs to drain, {result.settled:,} settled by the workers; "
                f"taps now {statuses}"
            )
        if transfers != keys or transfers != statuses.get("settled", 0):
            notes.append(
                f"double settlement: {transfers:,} tap transfers for {keys:,} taps "
                f"and {statuses.get('settled', 0):,} settled"
            )
        return notes

    def close(self) -> None:
        """Drop the ledger's database."""
        self.server.drop_database(self.url)


def payers_and_payees(accounts: list) -> tuple[list, list]:
    """Half the accounts pay, the other half are paid, as customers pay merchants.

    Every balance a batch touches then moves. A rotation where each account also received what
    it paid (as this bench once used) left every balance where it was after a batch, and the
    balance update, which skips unchanged rows, wrote nothing: a cost real traffic pays.
    """
    half = len(accounts) // 2
    return accounts[:half], accounts[half:]


def settle_spread(
    server: BenchServer, template: str, pairs: int, accounts: int, workers: int = 1
) -> Drained:
    """Target 1 (and 3): pairs spread over accounts, drained by workers processes."""
    ledger = Ledger(server, template, f"spread{workers}")
    try:
        payers, payees = payers_and_payees(ledger.open_accounts(accounts, BALANCE))
        ledger.seed_pairs(payers, payees, pairs)
        return ledger.drain(pairs, workers)
    finally:
        ledger.close()


def settle_hot(server: BenchServer, template: str, pairs: int, accounts: int) -> Drained:
    """Target 2: every pair pays one merchant account."""
    ledger = Ledger(server, template, "hot")
    try:
        payers = ledger.open_accounts(accounts, BALANCE)
        merchant = ledger.open_accounts(1, 0)
        ledger.seed_pairs(payers, merchant, pairs)
        return ledger.drain(pairs)
    finally:
        ledger.close()


def settle_after_growth(
    server: BenchServer, template: str, rows: int, pairs: int, accounts: int
) -> Growth:
    """Target 4: pairs drained on empty tables, then a backlog of rows pairs (peak memory), then
    pairs more on top of those rows: the same database, minutes apart, so the two speeds differ
    by the rows and little else."""
    ledger = Ledger(server, template, "growth")
    try:
        payers, payees = payers_and_payees(ledger.open_accounts(accounts, BALANCE))
        ledger.seed_pairs(payers, payees, pairs)
        empty = ledger.drain(pairs)
        ledger.seed_pairs(payers, payees, rows)
        big = ledger.drain(rows)
        # The settled rows as a live system keeps them: vacuumed and analysed.
        maintain(ledger.url, "VACUUM ANALYZE")
        ledger.seed_pairs(payers, payees, pairs)
        after = ledger.drain(pairs)
        return Growth(empty, big, after)
    finally:
        ledger.close()
