"""The contract's ledger invariants, each checked by one query that counts its offenders."""

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Check:
    """One invariant: its number in the contract, what it says, and how many rows break it."""

    number: int
    statement: str
    offenders: int

    @property
    def holds(self) -> bool:
        return self.offenders == 0


CHECKS = [
    (
        1,
        "every transfer moves a positive amount from one account to another",
        "SELECT count(*) FROM transfers WHERE amount <= 0 OR debit_account_id = credit_account_id",
    ),
    (
        1,
        "in each currency, the sum of all balances, the funding account's included, is zero",
        """SELECT count(*) FROM (SELECT currency FROM accounts GROUP BY currency
                                 HAVING sum(balance) <> 0) unbalanced""",
    ),
    (
        1,
        "every transfer is in the currency of both its accounts",
        """SELECT count(*) FROM transfers t
           JOIN accounts d ON d.id = t.debit_account_id
           JOIN accounts c ON c.id = t.credit_account_id
           WHERE t.currency <> d.currency OR t.currency <> c.currency""",
    ),
    (
        2,
        "every balance equals its account's credits minus its debits",
        """SELECT count(*) FROM accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM entries GROUP BY account_id) e
             ON e.account_id = a.id
           WHERE a.balance <> coalesce(e.total, 0)""",
    ),
    (
        2,
        "every balance equals the balance-after its latest transfer recorded for it",
        """SELECT count(*) FROM accounts a
           JOIN LATERAL (SELECT balance_after FROM entries e WHERE e.account_id = a.id
                         ORDER BY ledger_seq DESC LIMIT 1) latest ON true
           WHERE a.balance <> latest.balance_after""",
    ),
    (
        2,
        "each account's balances-after chain without a gap, in the order its transfers ran",
        """SELECT count(*) FROM (
             SELECT amount, balance_after,
                    lag(balance_after, 1, 0::bigint)
                      OVER (PARTITION BY account_id ORDER BY ledger_seq) AS before
             FROM entries) e
           WHERE e.before + e.amount <> e.balance_after""",
    ),
    (
        2,
        "no customer balance is below zero, now or after any transfer",
        """SELECT (SELECT count(*) FROM accounts
                   WHERE account_type <> 'funding' AND balance < 0)
                + (SELECT count(*) FROM entries e JOIN accounts a ON a.id = e.account_id
                   WHERE a.account_type <> 'funding' AND e.balance_after < 0)""",
    ),
    (
        3,
        "no tap key has more than one transfer",
        """SELECT count(*) FROM (SELECT tap_key FROM transfers WHERE tap_key IS NOT NULL
                                 GROUP BY tap_key HAVING count(*) > 1) d""",
    ),
    (
        3,
        "no half is both settled and failed: each tap has one outcome, the one its status names",
        # A half ends as its tap does, so this holds of halves when it holds of taps.
        """SELECT count(*) FROM taps t
           LEFT JOIN transfers x ON x.tap_key = t.key
           LEFT JOIN failures f ON f.tap_key = t.key
           WHERE (x.id IS NOT NULL AND f.id IS NOT NULL)
              OR (t.status = 'settled' AND x.id IS DISTINCT FROM t.transfer_id)
              OR (t.status = 'failed' AND f.id IS DISTINCT FROM t.failure_id)
              OR (t.status NOT IN ('settled', 'failed')
                  AND (x.id IS NOT NULL OR f.id IS NOT NULL))""",
    ),
    (
        4,
        "transfers are append-only: the triggers refusing UPDATE, DELETE and TRUNCATE are in place",
        # 'O' and 'A' fire in ordinary sessions; 'D' never fires and 'R' only on replicas.
        """SELECT 2 - count(*) FROM pg_trigger
           WHERE tgrelid = 'transfers'::regclass AND tgenabled IN ('O', 'A')
             AND tgname IN ('transfers_append_only', 'transfers_never_truncated')""",
    ),
    (
        5,
        "every acknowledged half is settled, failed, set aside (a warning, below), or younger "
        "than the TTL plus one interval",
        """SELECT count(*) FROM halves h JOIN taps t ON t.key = h.tap_key
           WHERE t.status NOT IN ('settled', 'failed')
             AND h.received_at < now() - CAST(:allowed AS interval)
             AND NOT EXISTS (SELECT 1 FROM tap_queue q
                             WHERE q.tap_key = t.key AND q.retry_at IS NOT NULL)""",
    ),
    (
        5,
        "every tap not yet ended is queued for the reconciler, as awaiting or matched",
        """SELECT count(*) FROM taps t LEFT JOIN tap_queue q ON q.tap_key = t.key
           WHERE (q.tap_key IS NULL) <> (t.status IN ('settled', 'failed'))
              OR (q.tap_key IS NOT NULL
                  AND (q.matched_at IS NOT NULL) <> (t.status = 'matched'))""",
    ),
]


def verify_ledger(session: Session, *, ttl: timedelta, interval: timedelta) -> list[Check]:
    """Run every check in one snapshot and return them all, holding or not."""
    session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    allowed = f"{(ttl + interval).total_seconds()} seconds"
    return [
        Check(number, statement, session.execute(text(sql), {"allowed": allowed}).scalar_one())
        for number, statement, sql in CHECKS
    ]
