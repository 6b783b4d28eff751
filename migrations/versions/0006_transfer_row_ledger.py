"""the transfer-row ledger: each transfer carries both balances-after; entries become a view

A transfer is double-entry by construction: one positive amount, one debited and one credited
account, and the balance each was left with. The entries table goes (its rows are carried into
the transfers they belonged to) and an entries view, one row per account per transfer, serves SQL
readers. ledger_seq orders the transfers as they were applied: it is drawn when a transfer is
written, which is always under the locks of both its accounts, so each account's transfers are in
ledger_seq in the order their balances ran. (The sequence must keep CACHE 1: a cache per session
would hand out numbers out of that order.) Transfers are append-only: triggers refuse UPDATE,
DELETE and TRUNCATE; only the development reset lifts them, inside its own transaction.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ENTRIES_VIEW = """
CREATE VIEW entries AS
SELECT id AS transfer_id, debit_account_id AS account_id, -amount AS amount,
       debit_balance_after AS balance_after, ledger_seq, created_at
FROM transfers
UNION ALL
SELECT id, credit_account_id, amount, credit_balance_after, ledger_seq, created_at
FROM transfers
"""

REFUSE_TRANSFER_CHANGES = """
CREATE FUNCTION refuse_transfer_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger transfers are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER transfers_append_only BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION refuse_transfer_changes();
CREATE TRIGGER transfers_never_truncated BEFORE TRUNCATE ON transfers
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_transfer_changes();
"""

REFUSE_ENTRY_CHANGES = """
CREATE FUNCTION refuse_entry_changes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_entry_changes();
"""


def upgrade():
    op.execute(
        "ALTER TABLE transfers ADD COLUMN debit_balance_after bigint, "
        "ADD COLUMN credit_balance_after bigint, ADD COLUMN ledger_seq bigint"
    )
    # Each transfer takes its two entries' balances; its place in ledger_seq is its first
    # entry's, as entry ids were drawn in the order balances ran.
    op.execute(
        """
        UPDATE transfers t
        SET debit_balance_after = carried.debit_balance_after,
            credit_balance_after = carried.credit_balance_after,
            ledger_seq = carried.seq
        FROM (
            SELECT t.id,
                   d.balance_after AS debit_balance_after,
                   c.balance_after AS credit_balance_after,
                   row_number() OVER (ORDER BY least(d.id, c.id)) AS seq
            FROM transfers t
            JOIN entries d ON d.transfer_id = t.id AND d.account_id = t.debit_account_id
            JOIN entries c ON c.transfer_id = t.id AND c.account_id = t.credit_account_id
        ) carried
        WHERE t.id = carried.id
        """
    )
    op.execute(
        "ALTER TABLE transfers ALTER COLUMN debit_balance_after SET NOT NULL, "
        "ALTER COLUMN credit_balance_after SET NOT NULL, ALTER COLUMN ledger_seq SET NOT NULL, "
        "ALTER COLUMN ledger_seq ADD GENERATED ALWAYS AS IDENTITY (CACHE 1)"
    )
    op.execute(
        "SELECT setval(pg_get_serial_sequence('transfers', 'ledger_seq'), "
        "coalesce(max(ledger_seq), 0) + 1, false) FROM transfers"
    )
    # An account's history, newest first, from whichever side it was on.
    op.create_index(
        "ix_transfers_debit_account_id_ledger_seq", "transfers", ["debit_account_id", "ledger_seq"]
    )
    op.create_index(
        "ix_transfers_credit_account_id_ledger_seq",
        "transfers",
        ["credit_account_id", "ledger_seq"],
    )

    op.execute("DROP TABLE entries")
    op.execute("DROP FUNCTION refuse_entry_changes()")
    op.execute(ENTRIES_VIEW)
    op.execute(REFUSE_TRANSFER_CHANGES)


def downgrade():
    op.execute("DROP TRIGGER transfers_never_truncated ON transfers")
    op.execute("DROP TRIGGER transfers_append_only ON transfers")
    op.execute("DROP FUNCTION refuse_transfer_changes()")
    op.execute("DROP VIEW entries")
    op.execute(
        """
        CREATE TABLE entries (
            id bigserial CONSTRAINT pk_entries PRIMARY KEY,
            transfer_id uuid NOT NULL
                CONSTRAINT fk_entries_transfer_id_transfers REFERENCES transfers (id),
            account_id uuid NOT NULL
                CONSTRAINT fk_entries_account_id_accounts REFERENCES accounts (id),
            amount bigint NOT NULL CONSTRAINT ck_entries_amount_not_zero CHECK (amount <> 0),
            balance_after bigint NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.create_index("ix_entries_account_id_id", "entries", ["account_id", "id"])
    # Two entries a transfer, debit first, in the order the transfers were applied.
    op.execute(
        """
        INSERT INTO entries (transfer_id, account_id, amount, balance_after, created_at)
        SELECT id, side.account_id, side.amount, side.balance_after, created_at
        FROM transfers,
             LATERAL (VALUES (1, debit_account_id, -amount, debit_balance_after),
                             (2, credit_account_id, amount, credit_balance_after))
                 AS side(ord, account_id, amount, balance_after)
        ORDER BY ledger_seq, side.ord
        """
    )
    op.execute(REFUSE_ENTRY_CHANGES)
    op.drop_index("ix_transfers_credit_account_id_ledger_seq", table_name="transfers")
    op.drop_index("ix_transfers_debit_account_id_ledger_seq", table_name="transfers")
    op.execute(
        "ALTER TABLE transfers DROP COLUMN ledger_seq, DROP COLUMN credit_balance_after, "
        "DROP COLUMN debit_balance_after"
    )
