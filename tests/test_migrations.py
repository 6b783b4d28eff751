"""The migration chain: one head, and it builds (and unbuilds) the schema from an empty database."""

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tapbank import create_app
from tapbank.extensions import db
from tapbank.ledger.accounts import open_account
from tapbank.ledger.verify import verify_ledger
from tapbank.models import AccountType
from tapbank.models.accounts import FUNDING_ACCOUNT_ID
from tapbank.schema_version import MIGRATIONS_DIR
from tests import database
from tests.conftest import make_config


def scripts() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return ScriptDirectory.from_config(config)


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


@pytest.fixture
def empty_app(server_url):
    """An app on a database of its own that starts empty, dropped afterwards."""
    url = database.create_database(server_url)
    app = create_app(make_config(url))
    try:
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        database.drop_database(url)


def test_the_migrations_have_one_head():
    assert len(scripts().get_heads()) == 1


def test_every_migration_but_the_first_follows_another():
    revisions = list(scripts().walk_revisions())
    assert [r for r in revisions if r.down_revision is None] == [revisions[-1]]


def test_upgrade_builds_the_schema_on_an_empty_database(empty_app):
    assert tables() == set()
    assert empty_app.test_client().get("/readyz").status_code == 503

    upgrade()

    assert set(db.metadata.tables) <= tables()
    funding = db.session.execute(
        text("SELECT account_type, balance FROM accounts WHERE id = :id"),
        {"id": FUNDING_ACCOUNT_ID},
    ).one()
    assert tuple(funding) == ("funding", 0)
    assert empty_app.test_client().get("/readyz").status_code == 200


def test_the_migrated_schema_matches_the_models(empty_app):
    upgrade()
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
    assert differences == []


def test_downgrade_to_base_and_upgrade_again(empty_app):
    upgrade()
    db.session.remove()

    downgrade(revision="base")

    assert tables() == set()
    leftover_types = (
        db.session.execute(
            text(
                "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype = 'e'"
            )
        )
        .scalars()
        .all()
    )
    assert leftover_types == []
    db.session.remove()

    upgrade()

    assert set(db.metadata.tables) <= tables()
    assert empty_app.test_client().get("/readyz").status_code == 200


def run_sql(*statements: str) -> list:
    """Run statements in one committed transaction; returns the last one's rows."""
    rows = []
    for statement in statements:
        result = db.session.execute(text(statement))
        rows = result.all() if result.returns_rows else []
    db.session.commit()
    return rows


# One tap in each state, as migration 0003's schema held them: halves carried their outcome.
TAPS_AT_0003 = [
    "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, status) "
    "VALUES ('00000000-0000-0000-0000-00000000000a', 'Ada', 'checking', 'b', 'USD', 0, 'active'),"
    "       ('00000000-0000-0000-0000-00000000000b', 'Bob', 'checking', 'b', 'USD', 0, 'active')",
    "INSERT INTO failures (id, tap_key, reasons, message) VALUES "
    "('00000000-0000-0000-0000-0000000000f1', '00000000-0000-0000-0000-0000000000c4', "
    "'{expired}', 'expired')",
    "INSERT INTO transfers (id, kind, tap_key, debit_account_id, credit_account_id, amount, "
    "currency) VALUES ('00000000-0000-0000-0000-0000000000e5', 'tap', "
    "'00000000-0000-0000-0000-0000000000c5', '00000000-0000-0000-0000-00000000000a', "
    "'00000000-0000-0000-0000-00000000000b', 100, 'USD')",
    "INSERT INTO taps (key, status, created_at, matched_at, ended_at, transfer_id) VALUES "
    "('00000000-0000-0000-0000-0000000000c5', 'settled', now(), now(), now(), "
    " '00000000-0000-0000-0000-0000000000e5')",
    "INSERT INTO taps (key, status, created_at, matched_at, ended_at, failure_id) VALUES "
    "('00000000-0000-0000-0000-0000000000c1', 'awaiting_receiver', now() - interval '5 s', "
    " NULL, NULL, NULL),"
    "('00000000-0000-0000-0000-0000000000c2', 'awaiting_sender', now() - interval '4 s', "
    " NULL, NULL, NULL),"
    "('00000000-0000-0000-0000-0000000000c3', 'matched', now() - interval '3 s', "
    " now() - interval '2 s', NULL, NULL),"
    "('00000000-0000-0000-0000-0000000000c4', 'failed', now() - interval '9 m', NULL, now(), "
    " '00000000-0000-0000-0000-0000000000f1')",
    "INSERT INTO halves (tap_key, side, account_id, sender_account_id, amount, currency, "
    "device_os, tapped_at, status, transfer_id, failure_id) "
    "SELECT t.key, 'sender', '00000000-0000-0000-0000-00000000000a', "
    "'00000000-0000-0000-0000-00000000000a', 100, 'USD', 'ios', now(), "
    "CASE WHEN t.status IN ('settled', 'failed') THEN t.status::text ELSE 'pending' END"
    "::half_status, t.transfer_id, t.failure_id "
    "FROM taps t WHERE t.status <> 'awaiting_sender'",
    "INSERT INTO halves (tap_key, side, account_id, sender_account_id, amount, currency, "
    "device_os, tapped_at, status, transfer_id) "
    "SELECT key, 'receiver', '00000000-0000-0000-0000-00000000000b', "
    "'00000000-0000-0000-0000-00000000000a', 100, 'USD', 'ios', now(), "
    "CASE WHEN status = 'settled' THEN 'settled' ELSE 'pending' END::half_status, transfer_id "
    "FROM taps WHERE status IN ('awaiting_sender', 'matched', 'settled')",
]


def test_0004_queues_every_tap_still_live_and_its_downgrade_gives_halves_their_outcome(
    empty_app,
):
    upgrade(revision="0003")
    run_sql(*TAPS_AT_0003)

    upgrade(revision="0004")

    queued = run_sql(
        "SELECT right(q.tap_key::text, 2), q.created_at = t.created_at, "
        "q.matched_at IS NOT DISTINCT FROM t.matched_at "
        "FROM tap_queue q JOIN taps t ON t.key = q.tap_key ORDER BY q.tap_key"
    )
    assert queued == [("c1", True, True), ("c2", True, True), ("c3", True, True)]
    assert "status" not in {c["name"] for c in inspect(db.engine).get_columns("halves")}

    downgrade(revision="0003")

    halves = run_sql(
        "SELECT right(tap_key::text, 2), side::text, status::text, "
        "right(coalesce(transfer_id, failure_id)::text, 2) FROM halves ORDER BY tap_key, side::text"
    )
    assert halves == [
        ("c1", "sender", "pending", None),
        ("c2", "receiver", "pending", None),
        ("c3", "receiver", "pending", None),
        ("c3", "sender", "pending", None),
        ("c4", "sender", "failed", "f1"),
        ("c5", "receiver", "settled", "e5"),
        ("c5", "sender", "settled", "e5"),
    ]
    assert "tap_queue" not in tables()


A, B, F = (
    "'00000000-0000-0000-0000-00000000000a'",
    "'00000000-0000-0000-0000-00000000000b'",
    f"'{FUNDING_ACCOUNT_ID}'",
)
# A ledger as migration 0005's schema held it: three transfers, applied in the order deposit to
# Ada, deposit to Bob, Ada pays Bob, with ids that sort in another order, and their six entries.
LEDGER_AT_0005 = [
    "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, status) "
    f"VALUES ({A}, 'Ada', 'checking', 'b', 'USD', 700, 'active'),"
    f"       ({B}, 'Bob', 'checking', 'b', 'USD', 800, 'active')",
    f"UPDATE accounts SET balance = -1500 WHERE id = {F}",
    "INSERT INTO transfers (id, kind, tap_key, debit_account_id, credit_account_id, amount, "
    "currency) VALUES "
    f"('00000000-0000-0000-0000-0000000000e3', 'deposit', NULL, {F}, {A}, 1000, 'USD'),"
    f"('00000000-0000-0000-0000-0000000000e1', 'deposit', NULL, {F}, {B}, 500, 'USD'),"
    f"('00000000-0000-0000-0000-0000000000e2', 'tap', '00000000-0000-0000-0000-0000000000c1', "
    f"{A}, {B}, 300, 'USD')",
    "INSERT INTO entries (transfer_id, account_id, amount, balance_after) VALUES "
    f"('00000000-0000-0000-0000-0000000000e3', {F}, -1000, -1000),"
    f"('00000000-0000-0000-0000-0000000000e3', {A}, 1000, 1000),"
    f"('00000000-0000-0000-0000-0000000000e1', {F}, -500, -1500),"
    f"('00000000-0000-0000-0000-0000000000e1', {B}, 500, 500),"
    f"('00000000-0000-0000-0000-0000000000e2', {A}, -300, 700),"
    f"('00000000-0000-0000-0000-0000000000e2', {B}, 300, 800)",
]
# Every entry, as (transfer, account, signed amount, balance after), in the order applied.
ENTRIES_IN_ORDER = [
    ("e3", "01", -1000, -1000),
    ("e3", "0a", 1000, 1000),
    ("e1", "01", -500, -1500),
    ("e1", "0b", 500, 500),
    ("e2", "0a", -300, 700),
    ("e2", "0b", 300, 800),
]


def entries_in_order(order_by: str) -> list:
    return [
        tuple(row)
        for row in run_sql(
            "SELECT right(transfer_id::text, 2), right(account_id::text, 2), amount, "
            f"balance_after FROM entries ORDER BY {order_by}"
        )
    ]


def test_0006_carries_every_entry_into_its_transfer_and_its_downgrade_gives_them_back(empty_app):
    upgrade(revision="0005")
    run_sql(*LEDGER_AT_0005)

    upgrade(revision="0006")

    transfers = run_sql(
        "SELECT right(id::text, 2), debit_balance_after, credit_balance_after FROM transfers "
        "ORDER BY ledger_seq"
    )
    assert transfers == [("e3", -1000, 1000), ("e1", -1500, 500), ("e2", 700, 800)]
    assert entries_in_order("ledger_seq, amount") == ENTRIES_IN_ORDER
    assert "entries" not in tables()

    downgrade(revision="0005")

    assert "entries" in tables()
    assert entries_in_order("id") == ENTRIES_IN_ORDER
    refused = run_sql(
        "SELECT count(*) FROM pg_trigger WHERE tgname = 'entries_append_only' "
        "AND tgrelid = 'entries'::regclass"
    )
    assert refused == [(1,)]
    columns = {c["name"] for c in inspect(db.engine).get_columns("transfers")}
    assert columns.isdisjoint({"debit_balance_after", "credit_balance_after", "ledger_seq"})

    upgrade()

    assert entries_in_order("ledger_seq, amount") == ENTRIES_IN_ORDER
    checks = verify_ledger(db.session, ttl=timedelta(seconds=120), interval=timedelta(seconds=1))
    db.session.rollback()
    assert [check.statement for check in checks if not check.holds] == []
    # A transfer written after the migration takes the next place in the order.
    account, _ = open_account(
        db.session,
        owner_name="Cy",
        account_type=AccountType.CHECKING,
        bank_name="b",
        currency="USD",
        opening_deposit=5,
    )
    db.session.commit()
    last = run_sql(
        f"SELECT max(ledger_seq) FROM transfers WHERE credit_account_id = '{account.id}'"
    )
    assert last == [(4,)]


def test_0012_keeps_every_half_and_account_and_its_downgrade_shortens_only_a_long_os(empty_app):
    upgrade(revision="0011")
    run_sql(*TAPS_AT_0003[:2], *TAPS_AT_0003[4:5])  # two accounts, a failure, a tap
    run_sql(
        "INSERT INTO halves (tap_key, side, account_id, sender_account_id, amount, currency, "
        f"device_os, tapped_at) VALUES ('00000000-0000-0000-0000-0000000000c1', 'sender', {A}, "
        f"{A}, 100, 'USD', 'ios', now())"
    )

    upgrade(revision="0012")

    assert run_sql("SELECT count(*) FROM accounts WHERE legacy_user_id IS NULL") == [(3,)]
    run_sql(
        f"UPDATE accounts SET legacy_user_id = 1234567890 WHERE id = {A}",
        "INSERT INTO halves (tap_key, side, account_id, sender_account_id, amount, currency, "
        f"device_os, tapped_at) VALUES ('00000000-0000-0000-0000-0000000000c1', 'receiver', {B}, "
        f"{A}, 100, 'USD', repeat('x', 255), now())",
    )

    downgrade(revision="0011")

    assert "legacy_user_id" not in {c["name"] for c in inspect(db.engine).get_columns("accounts")}
    oses = run_sql("SELECT side::text, device_os FROM halves ORDER BY side::text")
    assert oses == [("receiver", "x" * 40), ("sender", "ios")]
