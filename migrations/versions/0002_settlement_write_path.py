"""settlement write path: room for HOT updates, no indexes nothing reads

Settling a tap rewrites its taps row and both halves rows. With free space on each page
(fillfactor 70) the halves' update is a HOT update: no index entry is rewritten. Two indexes no
query uses are dropped, so each settled transfer maintains fewer.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE halves SET (fillfactor = 70)")
    op.execute("ALTER TABLE taps SET (fillfactor = 70)")
    op.drop_index("ix_halves_account_id_received_at", table_name="halves")
    op.drop_index("ix_entries_transfer_id", table_name="entries")


def downgrade():
    op.create_index("ix_entries_transfer_id", "entries", ["transfer_id"])
    op.create_index("ix_halves_account_id_received_at", "halves", ["account_id", "received_at"])
    op.execute("ALTER TABLE taps RESET (fillfactor)")
    op.execute("ALTER TABLE halves RESET (fillfactor)")
