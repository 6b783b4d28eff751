"""the runtime role: what the API and the workers may do to each table, and no more

The API and the workers connect as a login role that is a member of tapbank_runtime (NOLOGIN);
migrations, which own every table, run as the owner. The runtime role may add transfers,
halves, failures and failed authentications but never change or remove one; it may change
accounts (balances, status, keys), taps (their outcome), the queue and the workers' rows. It owns
nothing, so it can neither TRUNCATE nor ALTER a table (disabling a trigger is an ALTER TABLE);
as no superuser, it cannot set session_replication_role, which would silence the triggers.

The grants are exact: whatever the group held before is revoked first. A table added by a later
migration gets nothing unless that migration grants it (tests/test_database_roles.py checks that
every table has its privileges decided). tapbank_runtime is made here if it does not exist yet,
which needs a role that may create roles; a deployment whose owner may not makes it first.
Downgrading revokes the grants and leaves the role, which other databases on the server may use.

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

RUNTIME = "tapbank_runtime"

PRIVILEGES = {
    "accounts": "SELECT, INSERT, UPDATE",
    "alembic_version": "SELECT",  # /readyz compares it with the code's newest migration
    "auth_failures": "SELECT, INSERT, DELETE",  # pruned after their retention
    "entries": "SELECT",  # the view of transfers, one row per account
    "failures": "SELECT, INSERT",
    "halves": "SELECT, INSERT",  # a half is kept as received
    # The answer is written once the work is done, and pruned after its retention.
    "idempotency_keys": "SELECT, INSERT, UPDATE, DELETE",
    "job_runs": "SELECT, INSERT, UPDATE",  # a forgotten worker's runs go with it (ON DELETE CASCADE)
    "tap_queue": "SELECT, INSERT, UPDATE, DELETE",
    "taps": "SELECT, INSERT, UPDATE",
    "transfers": "SELECT, INSERT",  # append-only
    "workers": "SELECT, INSERT, UPDATE, DELETE",
}
# The sequences behind column defaults (nextval); transfers.ledger_seq is an identity column,
# which needs no grant of its own.
SEQUENCES = (
    "account_number_seq",
    "auth_failures_id_seq",
    "halves_id_seq",
    "idempotency_keys_id_seq",
)

CREATE_RUNTIME_ROLE = f"""
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUNTIME}') THEN
        RETURN;
    END IF;
    IF NOT (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'role {RUNTIME} does not exist, and % may not create it', current_user
            USING HINT = 'As a role that may: CREATE ROLE {RUNTIME} NOLOGIN; then migrate again.';
    END IF;
    CREATE ROLE {RUNTIME} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;  -- made meanwhile by a migration of another database on this server
END
$$
"""


def _revoke_everything() -> None:
    tables = ", ".join(PRIVILEGES)
    op.execute(f"REVOKE ALL ON {tables} FROM {RUNTIME}")
    op.execute(f"REVOKE ALL ON SEQUENCE {', '.join(SEQUENCES)} FROM {RUNTIME}")


def upgrade():
    op.execute(CREATE_RUNTIME_ROLE)
    _revoke_everything()
    op.execute(f"GRANT USAGE ON SCHEMA public TO {RUNTIME}")
    for table, privileges in PRIVILEGES.items():
        op.execute(f"GRANT {privileges} ON {table} TO {RUNTIME}")
    op.execute(f"GRANT USAGE ON SEQUENCE {', '.join(SEQUENCES)} TO {RUNTIME}")


def downgrade():
    _revoke_everything()
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {RUNTIME}")
