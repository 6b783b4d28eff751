"""initial schema: accounts, ledger, taps, workers

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 00:14:50.143637

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


FUNDING_ACCOUNT_ID = "00000000-0000-0000-0000-000000000001"

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
    op.execute("CREATE SEQUENCE account_number_seq START 1000000001")
    op.create_table('accounts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('account_number', sa.String(length=20), server_default=sa.text("lpad(nextval('account_number_seq')::text, 10, '0')"), nullable=False),
    sa.Column('owner_name', sa.String(length=200), nullable=False),
    sa.Column('account_type', sa.Enum('checking', 'savings', 'funding', name='account_type'), nullable=False),
    sa.Column('bank_name', sa.String(length=200), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.Enum('active', 'frozen', name='account_status'), nullable=False),
    sa.Column('api_key_digest', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("account_type = 'funding' OR balance >= 0", name=op.f('ck_accounts_customer_balance_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('account_number', name=op.f('uq_accounts_account_number')),
    sa.UniqueConstraint('api_key_digest', name=op.f('uq_accounts_api_key_digest'))
    )
    op.create_table('auth_failures',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('client_address', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('route', sa.String(length=300), nullable=False),
    sa.Column('key_fingerprint', sa.String(length=16), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_failures'))
    )
    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.create_index('ix_auth_failures_client_address_occurred_at', ['client_address', 'occurred_at'], unique=False)

    op.create_table('failures',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tap_key', sa.Uuid(), nullable=False),
    sa.Column('reasons', sa.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_failures')),
    sa.UniqueConstraint('tap_key', name=op.f('uq_failures_tap_key'))
    )
    op.create_table('workers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('hostname', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('last_heartbeat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workers'))
    )
    op.create_table('job_runs',
    sa.Column('worker_id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.String(length=40), nullable=False),
    sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_duration_ms', sa.Integer(), nullable=True),
    sa.Column('last_result', sa.String(length=200), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['worker_id'], ['workers.id'], name=op.f('fk_job_runs_worker_id_workers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('worker_id', 'job_id', name=op.f('pk_job_runs'))
    )
    op.create_table('transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('deposit', 'tap', name='transfer_kind'), nullable=False),
    sa.Column('tap_key', sa.Uuid(), nullable=True),
    sa.Column('debit_account_id', sa.Uuid(), nullable=False),
    sa.Column('credit_account_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('memo', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(kind = 'tap') = (tap_key IS NOT NULL)", name=op.f('ck_transfers_tap_key_iff_tap')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_transfers_amount_positive')),
    sa.CheckConstraint('debit_account_id <> credit_account_id', name=op.f('ck_transfers_distinct_accounts')),
    sa.ForeignKeyConstraint(['credit_account_id'], ['accounts.id'], name=op.f('fk_transfers_credit_account_id_accounts')),
    sa.ForeignKeyConstraint(['debit_account_id'], ['accounts.id'], name=op.f('fk_transfers_debit_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('tap_key', name=op.f('uq_transfers_tap_key'))
    )
    op.create_table('entries',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance_after', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('amount <> 0', name=op.f('ck_entries_amount_not_zero')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_entries_account_id_accounts')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_entries_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entries'))
    )
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.create_index('ix_entries_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entries_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('taps',
    sa.Column('key', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('awaiting_sender', 'awaiting_receiver', 'matched', 'settled', 'failed', name='tap_status'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transfer_id', sa.Uuid(), nullable=True),
    sa.Column('failure_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("(status = 'failed') = (failure_id IS NOT NULL)", name=op.f('ck_taps_failed_iff_failure')),
    sa.CheckConstraint("(status = 'settled') = (transfer_id IS NOT NULL)", name=op.f('ck_taps_settled_iff_transfer')),
    sa.ForeignKeyConstraint(['failure_id'], ['failures.id'], name=op.f('fk_taps_failure_id_failures')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_taps_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_taps')),
    sa.UniqueConstraint('failure_id', name=op.f('uq_taps_failure_id')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_taps_transfer_id'))
    )
    with op.batch_alter_table('taps', schema=None) as batch_op:
        batch_op.create_index('ix_taps_created_at_awaiting', ['created_at'], unique=False, postgresql_where="status IN ('awaiting_sender', 'awaiting_receiver')")
        batch_op.create_index('ix_taps_matched_at_pending', ['matched_at'], unique=False, postgresql_where="status = 'matched'")

    op.create_table('halves',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('tap_key', sa.Uuid(), nullable=False),
    sa.Column('side', sa.Enum('sender', 'receiver', name='tap_side'), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('sender_account_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('device_os', sa.String(length=40), nullable=False),
    sa.Column('device_model', sa.String(length=100), nullable=True),
    sa.Column('tapped_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('status', sa.Enum('pending', 'settled', 'failed', name='half_status'), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=True),
    sa.Column('failure_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint("(status = 'failed') = (failure_id IS NOT NULL)", name=op.f('ck_halves_failed_iff_failure')),
    sa.CheckConstraint("(status = 'settled') = (transfer_id IS NOT NULL)", name=op.f('ck_halves_settled_iff_transfer')),
    sa.CheckConstraint("side = 'receiver' OR sender_account_id = account_id", name=op.f('ck_halves_sender_is_the_payer')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_halves_amount_positive')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_halves_account_id_accounts')),
    sa.ForeignKeyConstraint(['failure_id'], ['failures.id'], name=op.f('fk_halves_failure_id_failures')),
    sa.ForeignKeyConstraint(['tap_key'], ['taps.key'], name=op.f('fk_halves_tap_key_taps')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_halves_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_halves')),
    sa.UniqueConstraint('tap_key', 'side', name='uq_halves_tap_key_side')
    )
    with op.batch_alter_table('halves', schema=None) as batch_op:
        batch_op.create_index('ix_halves_account_id_received_at', ['account_id', 'received_at'], unique=False)

    op.execute(REFUSE_ENTRY_CHANGES)
    op.execute(
        "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, status)"
        f" VALUES ('{FUNDING_ACCOUNT_ID}', 'tapbank funding', 'funding', 'tapbank', 'USD', 0,"
        " 'active')"
    )


def downgrade():
    op.execute("DROP TRIGGER entries_append_only ON entries")
    op.execute("DROP FUNCTION refuse_entry_changes()")
    with op.batch_alter_table('halves', schema=None) as batch_op:
        batch_op.drop_index('ix_halves_account_id_received_at')

    op.drop_table('halves')
    with op.batch_alter_table('taps', schema=None) as batch_op:
        batch_op.drop_index('ix_taps_matched_at_pending', postgresql_where="status = 'matched'")
        batch_op.drop_index('ix_taps_created_at_awaiting', postgresql_where="status IN ('awaiting_sender', 'awaiting_receiver')")

    op.drop_table('taps')
    with op.batch_alter_table('entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entries_transfer_id'))
        batch_op.drop_index('ix_entries_account_id_id')

    op.drop_table('entries')
    op.drop_table('transfers')
    op.drop_table('job_runs')
    op.drop_table('workers')
    op.drop_table('failures')
    with op.batch_alter_table('auth_failures', schema=None) as batch_op:
        batch_op.drop_index('ix_auth_failures_client_address_occurred_at')

    op.drop_table('auth_failures')
    op.drop_table('accounts')
    for enum_type in ("tap_side", "half_status", "tap_status", "transfer_kind", "account_status",
                      "account_type"):
        op.execute(f"DROP TYPE IF EXISTS {enum_type}")
    op.execute("DROP SEQUENCE account_number_seq")
