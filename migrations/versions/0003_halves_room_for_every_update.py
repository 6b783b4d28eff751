"""halves: room on each page for every row's settled version, so settling is a HOT update

Settling rewrites every pending half once, with its transfer or failure id added. At fillfactor
70 a page had room for the new versions of only about a third of its rows; the rest moved to
other pages and put new entries into both of the table's indexes, at random places in the tap-key
index, which made settlement slow down as the table grew. At 45 every row's new version fits on
its own page. The setting applies to pages written from now on.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ALTER TABLE halves SET (fillfactor = 45)")


def downgrade():
    op.execute("ALTER TABLE halves SET (fillfactor = 70)")
