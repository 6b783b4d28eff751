"""tap_queue: a matched pair that fails alone, or whose account another transaction holds, is
set aside with a time to try again, so it never holds up another pair

A set-aside entry stays matched (no money moved, nothing decided) and leaves the index the
reconcilers take pairs from; its own partial index finds the ones due again.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("tap_queue", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tap_queue", sa.Column("set_aside_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tap_queue", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column("tap_queue", sa.Column("last_error", sa.String(length=500), nullable=True))
    op.drop_index("ix_tap_queue_matched", table_name="tap_queue")
    op.create_index(
        "ix_tap_queue_matched",
        "tap_queue",
        ["matched_at", "tap_key"],
        postgresql_where=sa.text("matched_at IS NOT NULL AND retry_at IS NULL"),
    )
    op.create_index(
        "ix_tap_queue_set_aside",
        "tap_queue",
        ["retry_at"],
        postgresql_where=sa.text("retry_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_tap_queue_set_aside", table_name="tap_queue")
    op.drop_index("ix_tap_queue_matched", table_name="tap_queue")
    op.create_index(
        "ix_tap_queue_matched",
        "tap_queue",
        ["matched_at", "tap_key"],
        postgresql_where=sa.text("matched_at IS NOT NULL"),
    )
    op.drop_column("tap_queue", "last_error")
    op.drop_column("tap_queue", "attempts")
    op.drop_column("tap_queue", "set_aside_at")
    op.drop_column("tap_queue", "retry_at")
