"""accounts.legacy_user_id for AISBackend's clients; a half's device os up to 255 characters

AISBackend's phones name accounts by an integer user id (10 to 12 digits) and send the string
Python's platform.platform() prints as their OS, which is longer than 40 characters on many
machines. The id is optional and unique; the wider column is the same half v1 takes.

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    # A nullable column with no default, and a wider varchar: neither rewrites its table.
    op.add_column("accounts", sa.Column("legacy_user_id", sa.BigInteger(), nullable=True))
    # Neither constraint may hold accounts (and so settlement) locked while it reads the table:
    # the unique index is built concurrently, then made the constraint; the CHECK is added
    # unchecked and then checked under a lock that lets accounts be read and written.
    with op.get_context().autocommit_block():
        op.create_index(
            "uq_accounts_legacy_user_id",
            "accounts",
            ["legacy_user_id"],
            unique=True,
            postgresql_concurrently=True,
        )
    op.execute(
        "ALTER TABLE accounts ADD CONSTRAINT uq_accounts_legacy_user_id "
        "UNIQUE USING INDEX uq_accounts_legacy_user_id"
    )
    op.execute(
        "ALTER TABLE accounts ADD CONSTRAINT ck_accounts_legacy_user_id_positive "
        "CHECK (legacy_user_id > 0) NOT VALID"
    )
    with op.get_context().autocommit_block():
        op.execute("ALTER TABLE accounts VALIDATE CONSTRAINT ck_accounts_legacy_user_id_positive")
    op.alter_column(
        "halves",
        "device_os",
        type_=sa.String(255),
        existing_type=sa.String(40),
        existing_nullable=False,
    )


def downgrade():
    # Only a downgrade shortens what a phone sent: a longer os keeps its first 40 characters.
    op.alter_column(
        "halves",
        "device_os",
        type_=sa.String(40),
        existing_type=sa.String(255),
        existing_nullable=False,
        postgresql_using="left(device_os, 40)",
    )
    op.drop_constraint(op.f("ck_accounts_legacy_user_id_positive"), "accounts", type_="check")
    op.drop_constraint(op.f("uq_accounts_legacy_user_id"), "accounts", type_="unique")
    op.drop_column("accounts", "legacy_user_id")
