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
    op.create_check_constraint(
        "only_the_sender_names_the_payee",
        "halves",
        "side = 'sender' OR receiver_account_id IS NULL",
    )


def downgrade():
    op.drop_constraint("only_the_sender_names_the_payee", "halves", type_="check")
    op.drop_column("halves", "receiver_account_id")
