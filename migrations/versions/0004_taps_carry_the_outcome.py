"""taps carry the outcome, halves are kept as received, and the live taps have a queue table

Ending a tap used to rewrite three rows: the tap, whose new version went into the tap-key index
at a random place (its status sat in two partial indexes, its outcome ids in two unique ones),
and both halves, each checked again against transfers or failures. Now a half is never changed:
its outcome is its tap's. The taps not yet ended are queued in tap_queue, which the reconcilers
read, and the taps table indexes only its key, with room on each page, so matching and ending a
tap are HOT updates. An ended tap's row is about 40% larger than a matched one's (outcome id and
time added): at fillfactor 40 every row's ended version fits beside it on its page.
transfers.tap_key and failures.tap_key stay unique: still one outcome a tap.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "tap_queue",
        sa.Column("tap_key", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["tap_key"], ["taps.key"], name=op.f("fk_tap_queue_tap_key_taps")),
        sa.PrimaryKeyConstraint("tap_key", name=op.f("pk_tap_queue")),
    )
    op.execute(
        "INSERT INTO tap_queue (tap_key, created_at, matched_at) SELECT key, created_at, "
        "CASE WHEN status = 'matched' THEN coalesce(matched_at, created_at) END "
        "FROM taps WHERE status IN ('awaiting_sender', 'awaiting_receiver', 'matched')"
    )
    op.create_index(
        "ix_tap_queue_matched",
        "tap_queue",
        ["matched_at", "tap_key"],
        postgresql_where="matched_at IS NOT NULL",
    )
    op.create_index(
        "ix_tap_queue_awaiting", "tap_queue", ["created_at"], postgresql_where="matched_at IS NULL"
    )

    op.drop_index("ix_taps_matched_at_pending", table_name="taps")
    op.drop_index("ix_taps_created_at_awaiting", table_name="taps")
    op.drop_constraint(op.f("uq_taps_transfer_id"), "taps", type_="unique")
    op.drop_constraint(op.f("uq_taps_failure_id"), "taps", type_="unique")
    op.execute("ALTER TABLE taps SET (fillfactor = 40)")

    op.drop_constraint(op.f("ck_halves_settled_iff_transfer"), "halves", type_="check")
    op.drop_constraint(op.f("ck_halves_failed_iff_failure"), "halves", type_="check")
    op.drop_column("halves", "transfer_id")
    op.drop_column("halves", "failure_id")
    op.drop_column("halves", "status")
    op.execute("DROP TYPE half_status")
    op.execute("ALTER TABLE halves RESET (fillfactor)")


def downgrade():
    op.execute("ALTER TABLE halves SET (fillfactor = 45)")
    half_status = sa.Enum("pending", "settled", "failed", name="half_status")
    half_status.create(op.get_bind())
    op.add_column("halves", sa.Column("status", half_status, nullable=True))
    op.add_column("halves", sa.Column("failure_id", sa.Uuid(), nullable=True))
    op.add_column("halves", sa.Column("transfer_id", sa.Uuid(), nullable=True))
    op.execute(
        "UPDATE halves h SET transfer_id = t.transfer_id, failure_id = t.failure_id, "
        "status = CASE WHEN t.status IN ('settled', 'failed') THEN CAST(t.status::text AS "
        "half_status) ELSE 'pending' END FROM taps t WHERE t.key = h.tap_key"
    )
    op.alter_column("halves", "status", nullable=False)
    op.create_foreign_key(
        op.f("fk_halves_transfer_id_transfers"), "halves", "transfers", ["transfer_id"], ["id"]
    )
    op.create_foreign_key(
        op.f("fk_halves_failure_id_failures"), "halves", "failures", ["failure_id"], ["id"]
    )
    op.create_check_constraint(
        op.f("ck_halves_settled_iff_transfer"),
        "halves",
        "(status = 'settled') = (transfer_id IS NOT NULL)",
    )
    op.create_check_constraint(
        op.f("ck_halves_failed_iff_failure"),
        "halves",
        "(status = 'failed') = (failure_id IS NOT NULL)",
    )

    op.execute("ALTER TABLE taps SET (fillfactor = 70)")
    op.create_unique_constraint(op.f("uq_taps_failure_id"), "taps", ["failure_id"])
    op.create_unique_constraint(op.f("uq_taps_transfer_id"), "taps", ["transfer_id"])
    op.create_index(
        "ix_taps_created_at_awaiting",
        "taps",
        ["created_at"],
        postgresql_where="status IN ('awaiting_sender', 'awaiting_receiver')",
    )
    op.create_index(
        "ix_taps_matched_at_pending", "taps", ["matched_at"], postgresql_where="status = 'matched'"
    )
    op.drop_index("ix_tap_queue_awaiting", table_name="tap_queue")
    op.drop_index("ix_tap_queue_matched", table_name="tap_queue")
    op.drop_table("tap_queue")
