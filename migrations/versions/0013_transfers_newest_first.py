"""transfers by ledger_seq: every account's transfers, newest first, a page at a time

GET /api/v1/transfers lists the whole ledger in the order it was applied, newest first. Without
an index on ledger_seq alone each page would sort the whole table; with it a page reads its rows
from the index's end. ledger_seq only grows, so the index is appended to at its right edge.

Revision ID: 0013
Revises: 0012
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    # Built concurrently: settlement goes on writing transfers while the index is made.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_transfers_ledger_seq",
            "transfers",
            ["ledger_seq"],
            unique=True,
            postgresql_concurrently=True,
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index(
            "ix_transfers_ledger_seq", table_name="transfers", postgresql_concurrently=True
        )
