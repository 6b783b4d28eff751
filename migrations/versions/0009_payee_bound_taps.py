"""halves.receiver_account_id: a payer's half may name its payee

A tap key travels over NFC and may be overheard. A sender half that names the payee binds the
tap to that account: a receiver half from any other account is refused, or, when it came first,
the pair fails as receiver_mismatch. Only a sender half names a payee.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("halves", sa.Column("receiver_account_id", sa.Uuid(), nullable=True))
    # Added unchecked, then checked in a transaction of its own, whose lock lets halves be
    # read and written meanwhile: no scan of the whole table holds intake up.
    op.execute(
        "ALTER TABLE halves ADD CONSTRAINT ck_halves_only_the_sender_names_the_payee "
        "CHECK (side = 'sender' OR receiver_account_id IS NULL) NOT VALID"
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE halves VALIDATE CONSTRAINT ck_halves_only_the_sender_names_the_payee")


def downgrade():
    op.drop_constraint(op.f("ck_halves_only_the_sender_names_the_payee"), "halves", type_="check")
    op.drop_column("halves", "receiver_account_id")
