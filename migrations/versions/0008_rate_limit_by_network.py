"""auth_failures: the rate limit counts a client's network, an IPv6 client's whole /64

An IPv6 client holds a /64 and may use any address in it: counted by exact address, it could
walk its subnet past the limit. The exact address is still recorded for the operator.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("auth_failures", sa.Column("client_network", sa.String(64), nullable=True))
    op.execute("UPDATE auth_failures SET client_network = client_address")
    op.alter_column("auth_failures", "client_network", nullable=False)
    op.drop_index("ix_auth_failures_client_address_occurred_at", table_name="auth_failures")
    op.create_index(
        "ix_auth_failures_client_network_occurred_at",
        "auth_failures",
        ["client_network", "occurred_at"],
    )


def downgrade():
    op.drop_index("ix_auth_failures_client_network_occurred_at", table_name="auth_failures")
    op.create_index(
        "ix_auth_failures_client_address_occurred_at",
        "auth_failures",
        ["client_address", "occurred_at"],
    )
    op.drop_column("auth_failures", "client_network")
