"""Synthetic data in bulk: funded accounts and matched pairs, written by set-based SQL.

The benchmarks and the concurrency tests need tens of thousands of pairs; making them through
HTTP would measure intake, not settlement. What this writes holds every ledger invariant.
"""

import uuid

from sqlalchemy import ARRAY, Uuid, bindparam, text
from sqlalchemy.orm import Session

from tapbank.ledger.accounts import ensure_funding_account

UUID_ARRAY = ARRAY(Uuid())


def seed_accounts(session: Session, count: int, balance: int, currency: str = "USD") -> list:
    """Open count keyless accounts, each funded by a deposit of balance; returns their ids."""
    ids = [uuid.uuid4() for _ in range(count)]
    session.execute(
        text(
            "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, "
            "status) SELECT id, 'seeded ' || ord, 'checking', 'seedbank', :currency, 0, 'active' "
            "FROM unnest(:ids) WITH ORDINALITY AS seeded(id, ord)"
        ).bindparams(bindparam("ids", type_=UUID_ARRAY)),
        {"ids": ids, "currency": currency},
    )
    if balance > 0:
        _fund(session, ids, balance, currency)
    return ids


def _fund(session: Session, ids: list, balance: int, currency: str) -> None:
    funding = ensure_funding_account(session, currency)
    params = {"ids": ids, "amount": balance, "currency": currency, "funding": funding}
    session.execute(text("SELECT balance FROM accounts WHERE id = :funding FOR UPDATE"), params)
    statements = [
        "CREATE TEMP TABLE seeded_deposits ON COMMIT DROP AS "
        "SELECT gen_random_uuid() AS transfer_id, id AS account_id, ord "
        "FROM unnest(:ids) WITH ORDINALITY AS seeded(id, ord)",
        # In order, so each deposit's ledger_seq follows the funding account's running balance.
        "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, currency, "
        "memo, debit_balance_after, credit_balance_after) "
        "SELECT transfer_id, 'deposit', :funding, account_id, :amount, :currency, "
        "'seeded deposit', f.balance - CAST(:amount AS bigint) * d.ord, :amount "
        "FROM seeded_deposits d, (SELECT balance FROM accounts WHERE id = :funding) f "
        "ORDER BY d.ord",
        "UPDATE accounts SET balance = balance + :amount WHERE id = ANY(:ids)",
        "UPDATE accounts SET balance = balance - CAST(:amount AS bigint) * cardinality(:ids) "
        "WHERE id = :funding",
        "DROP TABLE seeded_deposits",
    ]
    for statement in statements:
        clause = text(statement)
        if ":ids" in statement:
            clause = clause.bindparams(bindparam("ids", type_=UUID_ARRAY))
        session.execute(clause, params)


def seed_matched_pairs(
    session: Session,
    payers: list,
    payees: list,
    count: int,
    amount: int,
    currency: str = "USD",
) -> None:
    """Make count matched pairs, the i-th from payers[i % len] to payees[i % len]."""
    session.execute(
        text(
            "CREATE TEMP TABLE seeded_pairs ON COMMIT DROP AS "
            "SELECT gen_random_uuid() AS key, "
            "(:payers)[1 + (i % cardinality(:payers))] AS payer, "
            "(:payees)[1 + (i % cardinality(:payees))] AS payee, i "
            "FROM generate_series(0, :count - 1) AS i"
        ).bindparams(bindparam("payers", type_=UUID_ARRAY), bindparam("payees", type_=UUID_ARRAY)),
        {"payers": payers, "payees": payees, "count": count},
    )
    session.execute(
        text(
            "INSERT INTO taps (key, status, created_at, matched_at) "
            "SELECT key, 'matched', now(), now() + i * interval '1 microsecond' FROM seeded_pairs"
        )
    )
    session.execute(
        text(
            "INSERT INTO tap_queue (tap_key, created_at, matched_at) "
            "SELECT key, now(), now() + i * interval '1 microsecond' FROM seeded_pairs"
        )
    )
    session.execute(
        text(
            "INSERT INTO halves (tap_key, side, account_id, sender_account_id, amount, currency, "
            "device_os, tapped_at) "
            "SELECT key, 'sender'::tap_side, payer, payer, :amount, :currency, 'seed', now() "
            "FROM seeded_pairs UNION ALL "
            "SELECT key, 'receiver', payee, payer, :amount, :currency, 'seed', now() "
            "FROM seeded_pairs"
        ),
        {"amount": amount, "currency": currency},
    )
    session.execute(text("DROP TABLE seeded_pairs"))
