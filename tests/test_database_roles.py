"""The runtime role the API and the workers connect as, on a database built as a deployment
builds it: an owner login migrates it, and a runtime login (a member of tapbank_runtime) only
uses it. What the runtime role may do, and each thing it is refused."""

import importlib.util
import secrets
import uuid
from dataclasses import dataclass

import psycopg
import psycopg.errors
import pytest
import requests
from flask_migrate import upgrade
from psycopg import sql
from sqlalchemy.engine import make_url

from tapbank import create_app
from tapbank.config import ConfigurationError, DevelopmentConfig
from tapbank.database_roles import (
    DEVELOPMENT_DATABASE,
    OWNER,
    RUNTIME_GROUP,
    RUNTIME_LOGIN,
    database_urls,
    development_database_urls,
)
from tapbank.embedded_postgres import stop_server
from tapbank.extensions import db
from tapbank.schema_version import MIGRATIONS_DIR
from tests import database
from tests.conftest import ADMIN_KEY, make_config
from tests.factories import Factory
from tests.live_server import LiveServer
from tests.scheduler.workers import running_workers, wait_for

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

# What the runtime role may do to each table, view and sequence the migrations make. A migration
# that adds one grants tapbank_runtime what the app needs of it, and no more, and adds it here.
RUNTIME_MAY = {
    "accounts": {"SELECT", "INSERT", "UPDATE"},
    "alembic_version": {"SELECT"},
    "auth_failures": {"SELECT", "INSERT", "DELETE"},
    "entries": {"SELECT"},
    "failures": {"SELECT", "INSERT"},
    "halves": {"SELECT", "INSERT"},
    "idempotency_keys": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "job_runs": {"SELECT", "INSERT", "UPDATE"},
    "tap_queue": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "taps": {"SELECT", "INSERT", "UPDATE"},
    "transfers": {"SELECT", "INSERT"},
    "workers": {"SELECT", "INSERT", "UPDATE", "DELETE"},
    "account_number_seq": {"USAGE"},
    "auth_failures_id_seq": {"USAGE"},
    "halves_id_seq": {"USAGE"},
    "idempotency_keys_id_seq": {"USAGE"},
    "transfers_ledger_seq_seq": set(),
}
TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
SEQUENCE_PRIVILEGES = ("USAGE", "SELECT", "UPDATE")
RELATIONS = """
    SELECT c.oid, c.relname, c.relkind, pg_get_userbyid(c.relowner) FROM pg_class c
    WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
"""


@dataclass(frozen=True)
class TwoRoles:
    """A migrated database, its owner login and its runtime login, with their URLs."""

    database: str
    owner: str
    runtime: str
    owner_url: str
    runtime_url: str

    def connect(self, url: str, **options) -> psycopg.Connection:
        return psycopg.connect(database.libpq_url(url), **options)

    def read(self, query: str, *params) -> list[tuple]:
        """The rows of query, read as the owner on a connection of its own."""
        with self.connect(self.owner_url) as connection:
            return connection.execute(query, params).fetchall()


def superuser(server_url: str) -> psycopg.Connection:
    return psycopg.connect(database.libpq_url(server_url), autocommit=True)


def make_group_role(connection: psycopg.Connection) -> None:
    """tapbank_runtime, as a deployment makes it before migrating (once per server)."""
    try:
        connection.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(RUNTIME_GROUP)))
    except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
        pass


@pytest.fixture(scope="module")
def two_roles(server_url):
    """An owner login (no superuser, cannot make roles) that owns a new database and migrates
    it, and a runtime login in tapbank_runtime; dropped, roles and all, after the module."""
    suffix = uuid.uuid4().hex[:10]
    name, owner, runtime = (f"tapbank_test_{role}_{suffix}" for role in ("db", "owner", "app"))
    passwords = {owner: secrets.token_urlsafe(16), runtime: secrets.token_urlsafe(16)}
    with superuser(server_url) as connection:
        make_group_role(connection)
        for role, password in passwords.items():
            connection.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(role), sql.Literal(password)
                )
            )
        connection.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(RUNTIME_GROUP), sql.Identifier(runtime))
        )
        connection.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
    url = make_url(server_url).set(database=name)
    roles = TwoRoles(
        name,
        owner,
        runtime,
        *(
            url.set(username=role, password=passwords[role]).render_as_string(hide_password=False)
            for role in (owner, runtime)
        ),
    )
    try:
        yield roles
    finally:
        with superuser(server_url) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            for role in passwords:
                connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module")
def runtime_app(two_roles, tmp_path_factory):
    """The app as a deployment runs it: DATABASE_URL the runtime login, the owner's URL for
    migrations. Building it migrates the database, which only the owner can."""
    app = create_app(
        make_config(two_roles.runtime_url, TAPBANK_MIGRATION_DATABASE_URL=two_roles.owner_url)
    )
    app.instance_path = str(tmp_path_factory.mktemp("runtime-instance"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def ledger(runtime_app):
    """Two accounts and their deposits, made through the API as the runtime role."""
    with runtime_app.app_context():
        factory = Factory(runtime_app, runtime_app.test_client(), ADMIN)
        return factory.account("Ada", deposit=5000), factory.account("Bob", deposit=100)


def privileges(two_roles: TwoRoles) -> dict[str, set[str]]:
    """What the runtime login may do to each relation, however it holds it (group, PUBLIC)."""
    held = {}
    with two_roles.connect(two_roles.owner_url) as connection:
        version = int(connection.execute("SHOW server_version_num").fetchone()[0])
        maintain = ("MAINTAIN",) if version >= 170000 else ()  # PostgreSQL 17's VACUUM, LOCK...
        for oid, name, kind, _owner in connection.execute(RELATIONS).fetchall():
            if kind == "S":
                check, names = "has_sequence_privilege", SEQUENCE_PRIVILEGES
            else:
                check, names = "has_table_privilege", TABLE_PRIVILEGES + maintain
            held[name] = {
                privilege
                for privilege in names
                if connection.execute(
                    f"SELECT {check}(%s, %s::oid, %s)", (two_roles.runtime, oid, privilege)
                ).fetchone()[0]
            }
    return held


def ledger_fingerprint(two_roles: TwoRoles) -> tuple:
    """Every transfer as it stands, read by the owner."""
    return tuple(two_roles.read("SELECT * FROM transfers ORDER BY ledger_seq"))


def test_the_migrations_ran_as_the_owner_which_owns_every_table(runtime_app, two_roles):
    owners = {name: owner for _oid, name, _kind, owner in two_roles.read(RELATIONS)}
    assert set(owners) == set(RUNTIME_MAY)
    assert set(owners.values()) == {two_roles.owner}


def test_the_runtime_login_is_no_superuser_owns_nothing_and_acts_only_through_the_group(
    runtime_app, two_roles
):
    attributes = two_roles.read(
        "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
        "FROM pg_roles WHERE rolname = %s",
        two_roles.runtime,
    )
    owned = two_roles.read(
        "SELECT count(*) FROM pg_class WHERE relowner IN "
        "(SELECT oid FROM pg_roles WHERE rolname IN (%s, %s))",
        two_roles.runtime,
        RUNTIME_GROUP,
    )
    member_of = two_roles.read(
        "SELECT pg_has_role(%s, %s, 'MEMBER'), pg_has_role(%s, %s, 'MEMBER')",
        *(two_roles.runtime, RUNTIME_GROUP, two_roles.runtime, two_roles.owner),
    )
    assert attributes == [(False, False, False, False, False)]
    assert owned == [(0,)]
    assert member_of == [(True, False)]


def test_the_runtime_role_holds_exactly_what_was_decided_for_each_table(runtime_app, two_roles):
    assert privileges(two_roles) == RUNTIME_MAY


def test_only_the_runtime_role_may_call_the_intake_function(runtime_app, two_roles):
    signature = (
        "take_half(text, uuid, uuid, tap_side, uuid, uuid, bigint, text, text, text, timestamptz)"
    )
    may = two_roles.read(
        "SELECT has_function_privilege(%s, %s, 'EXECUTE'), "
        "has_function_privilege('public', %s, 'EXECUTE'), "
        "(SELECT prosecdef FROM pg_proc WHERE oid = %s::regprocedure)",
        two_roles.runtime,
        signature,
        signature,
        signature,
    )
    assert may == [(True, False, False)]  # SECURITY INVOKER: only what the runtime role may do


REFUSED = {
    "update a transfer": "UPDATE transfers SET memo = 'rewritten'",
    "delete a transfer": "DELETE FROM transfers",
    "truncate transfers": "TRUNCATE transfers",
    "truncate transfers, cascading": "TRUNCATE transfers CASCADE",
    "disable the append-only trigger": (
        "ALTER TABLE transfers DISABLE TRIGGER transfers_append_only"
    ),
    "disable the truncate trigger": (
        "ALTER TABLE transfers DISABLE TRIGGER transfers_never_truncated"
    ),
    "disable every trigger": "ALTER TABLE transfers DISABLE TRIGGER ALL",
    "drop a trigger": "DROP TRIGGER transfers_append_only ON transfers",
    "replace the trigger function": (
        "CREATE OR REPLACE FUNCTION refuse_transfer_changes() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$"
    ),
    "set session_replication_role": "SET session_replication_role = replica",
    "set session_replication_role locally": "SET LOCAL session_replication_role = replica",
    "set session_replication_role by set_config": (
        "SELECT set_config('session_replication_role', 'replica', false)"
    ),
    "rewrite a half": "UPDATE halves SET amount = amount + 1",
    "delete a failure": "DELETE FROM failures",
    "delete an account": "DELETE FROM accounts",
    "make a table": "CREATE TABLE shadow_ledger (id int)",
}


@pytest.mark.parametrize("statement", REFUSED.values(), ids=REFUSED.keys())
def test_the_runtime_role_is_refused(ledger, two_roles, statement):
    before = ledger_fingerprint(two_roles)
    assert before, "the refusals are shown on a ledger with transfers in it"
    with two_roles.connect(two_roles.runtime_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(statement)
        connection.rollback()
        assert connection.execute("SHOW session_replication_role").fetchone() == ("origin",)
    assert ledger_fingerprint(two_roles) == before


@pytest.mark.parametrize(
    "table", [name for name in RUNTIME_MAY if not name.endswith("_seq") and name != "entries"]
)
def test_the_runtime_role_may_truncate_no_table(runtime_app, two_roles, table):
    with two_roles.connect(two_roles.runtime_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(f"TRUNCATE {table}")


def test_the_runtime_role_adds_a_valid_transfer_and_the_ledger_still_holds(
    ledger, runtime_app, two_roles
):
    ada, bob = ledger
    with two_roles.connect(two_roles.runtime_url) as connection:
        balances = dict(
            connection.execute(
                "SELECT id::text, balance FROM accounts WHERE id = ANY(%s::uuid[]) ORDER BY id "
                "FOR NO KEY UPDATE",
                ([ada.id, bob.id],),
            ).fetchall()
        )
        debit, credit = balances[ada.id] - 70, balances[bob.id] + 70
        connection.execute(
            "INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, "
            "currency, memo, debit_balance_after, credit_balance_after) "
            "VALUES (%s, 'deposit', %s, %s, 70, 'USD', 'by hand', %s, %s)",
            (uuid.uuid4(), ada.id, bob.id, debit, credit),
        )
        connection.execute("UPDATE accounts SET balance = %s WHERE id = %s", (debit, ada.id))
        connection.execute("UPDATE accounts SET balance = %s WHERE id = %s", (credit, bob.id))
        connection.commit()

    with runtime_app.app_context():
        verified = runtime_app.test_cli_runner().invoke(args=["ledger", "verify"])
        assert Factory(runtime_app, runtime_app.test_client(), ADMIN).balance(bob) == credit
    assert verified.exit_code == 0, verified.output


def test_the_api_and_the_commands_do_a_days_work_as_the_runtime_role(ledger, runtime_app):
    """Every table the app writes, written through the app as the runtime role."""
    ada, bob = ledger
    with runtime_app.app_context():
        client = runtime_app.test_client()
        factory = Factory(runtime_app, client, ADMIN)
        cy = factory.account("Cy")
        path = f"/api/v1/accounts/{cy.id}"
        once = {**ADMIN, "Idempotency-Key": "day-deposit-1"}
        deposited = client.post(f"{path}/deposits", json={"amount": 25}, headers=once)
        replayed = client.post(f"{path}/deposits", json={"amount": 25}, headers=once)
        assert (deposited.status_code, replayed.json) == (201, deposited.json)
        cy = type(cy)(cy.id, client.post(f"{path}/api-keys", headers=ADMIN).json["api_key"])
        assert client.patch(path, json={"status": "frozen"}, headers=ADMIN).status_code == 200
        assert client.get(path, headers=ADMIN).json["status"] == "frozen"
        assert client.patch(path, json={"status": "active"}, headers=ADMIN).status_code == 200
        assert client.get(path, headers=ADMIN).json["status"] == "active"

        assert factory.tap(ada, bob, 300).json["status"] == "settled"
        failed = factory.tap(cy, bob, 300).json  # Cy has 25
        reasons = [reason["reason"] for reason in failed["failure"]["reasons"]]
        assert (failed["status"], reasons) == ("failed", ["insufficient_funds"])
        wrong = {"Authorization": "Bearer tbk_not-a-key"}
        assert client.get(f"/api/v1/accounts/{ada.id}", headers=wrong).status_code == 401

        for read in (
            "/api/v1/accounts",
            f"/api/v1/accounts/{ada.id}/transfers",
            "/api/v1/auth-failures",
            "/api/v1/reconciliation-failures",
            "/api/v1/scheduler",
            "/api/v1/transfers",
        ):
            assert client.get(read, headers=ADMIN).status_code == 200, read
        assert client.get("/readyz").status_code == 200

        runner = runtime_app.test_cli_runner()
        for command in (
            ["demo", "setup"],
            ["tap", "inject-error"],  # its lone half is aged as the owner: halves are kept
            ["reconcile"],
            ["accounts", "list"],
            ["scheduler", "status"],
            ["ledger", "verify"],
            ["prune"],  # deletes old idempotency keys and failed authentications
        ):
            result = runner.invoke(args=command)
            assert result.exit_code == 0, (command, result.output, result.exception)


def test_tap_reset_runs_as_the_owner_and_says_so_when_it_has_only_the_runtime_role(
    ledger, runtime_app, two_roles, tmp_path
):
    before = ledger_fingerprint(two_roles)
    assert before  # the ledger holds transfers for the refused reset to leave alone
    runtime_only = create_app(make_config(two_roles.runtime_url))
    runtime_only.instance_path = str(tmp_path)
    with runtime_only.app_context():
        refused = runtime_only.test_cli_runner().invoke(args=["tap", "reset", "--yes"])
        db.engine.dispose()
    assert refused.exit_code == 1
    assert "TAPBANK_MIGRATION_DATABASE_URL" in refused.output
    assert "Traceback" not in refused.output
    assert ledger_fingerprint(two_roles) == before

    with runtime_app.app_context():
        reset = runtime_app.test_cli_runner().invoke(args=["tap", "reset", "--yes"])
        verified = runtime_app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert reset.exit_code == 0, reset.output
    assert verified.exit_code == 0, verified.output
    kinds = two_roles.read("SELECT DISTINCT kind::text FROM transfers")
    assert kinds == [("deposit",)]  # the demo accounts' opening deposits, nothing else


@pytest.mark.slow
def test_gunicorn_and_a_worker_connect_as_the_runtime_role_and_settle_a_tap(
    ledger, runtime_app, two_roles
):
    _, bob = ledger
    with runtime_app.app_context():
        payer = Factory(runtime_app, runtime_app.test_client(), ADMIN).account("Eve", deposit=900)
    long_gone = uuid.uuid4()
    with two_roles.connect(two_roles.owner_url) as connection:
        # A worker silent for days, which the new worker's heartbeat forgets, runs and all.
        connection.execute(
            "INSERT INTO workers (id, hostname, pid, started_at, last_heartbeat_at, state) "
            "VALUES (%s, 'old-host', 1, now() - interval '3 days', "
            "now() - interval '2 days', 'running')",
            (long_gone,),
        )
        connection.execute(
            "INSERT INTO job_runs (worker_id, job_id, next_run_at) VALUES (%s, 'reconcile', now())",
            (long_gone,),
        )
        connection.commit()

    server = LiveServer(two_roles.runtime_url, ADMIN_KEY, workers=1, threads=2)
    server.env["TAPBANK_SETTLE_INLINE"] = "0"  # the pair is left to the worker
    server.start()
    try:
        with running_workers(
            two_roles.runtime_url, ["runtime-worker"], TAPBANK_RECONCILE_INTERVAL_MS=100
        ):
            key = uuid.uuid4()
            sender = requests.put(
                f"{server.url}/api/v1/taps/{key}/sender",
                json=Factory.sender_body(400),
                headers=payer.headers,
                timeout=10,
            )
            receiver = requests.put(
                f"{server.url}/api/v1/taps/{key}/receiver",
                json=Factory.receiver_body(payer, 400),
                headers=bob.headers,
                timeout=10,
            )
            assert (sender.status_code, receiver.status_code) == (201, 201), receiver.text

            def settled():
                answer = requests.get(
                    f"{server.url}/api/v1/taps/{key}", headers=bob.headers, timeout=10
                )
                return answer.json()["status"] == "settled"

            wait_for(settled, 30, "the worker to settle the tap")
            wait_for(lambda: recorded_runs(two_roles) >= {"reconcile", "heartbeat"}, 30, "runs")
            sessions = session_users(two_roles)
            workers = worker_ids(two_roles)
    finally:
        server.stop()
    assert sessions == {two_roles.runtime}
    assert long_gone not in workers and len(workers) == 1


def session_users(two_roles: TwoRoles) -> set[str]:
    """Who every other session on the database is connected as."""
    rows = two_roles.read(
        "SELECT DISTINCT usename::text FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()",
        two_roles.database,
    )
    return {row[0] for row in rows}


def recorded_runs(two_roles: TwoRoles) -> set[str]:
    """The jobs whose last run is recorded, without an error, by a worker still running."""
    rows = two_roles.read(
        "SELECT job_id FROM job_runs JOIN workers ON workers.id = job_runs.worker_id "
        "WHERE workers.state = 'running' AND last_error IS NULL "
        "AND last_run_at > workers.started_at"
    )
    return {row[0] for row in rows}


def worker_ids(two_roles: TwoRoles) -> set[uuid.UUID]:
    return {row[0] for row in two_roles.read("SELECT id FROM workers")}


def migration_0011():
    path = next(MIGRATIONS_DIR.glob("versions/0011_*.py"))
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_migration_makes_the_group_role_only_where_it_may(server_url, two_roles):
    """Its role-making block, run for a group of this test's own name."""
    group = f"tapbank_test_group_{uuid.uuid4().hex[:10]}"
    block = migration_0011().CREATE_RUNTIME_ROLE.replace(RUNTIME_GROUP, group)
    try:
        with two_roles.connect(two_roles.owner_url, autocommit=True) as owner:
            with pytest.raises(psycopg.errors.RaiseException) as refused:
                owner.execute(block)
        assert f"role {group} does not exist" in str(refused.value)
        assert f"CREATE ROLE {group} NOLOGIN" in refused.value.diag.message_hint

        with superuser(server_url) as connection:
            connection.execute(block)
            connection.execute(block)  # there already: nothing to do
            made = connection.execute(
                "SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s", (group,)
            ).fetchall()
        assert made == [(False, False)]
    finally:
        with superuser(server_url) as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(group)))


def test_only_database_url_is_both_roles(tmp_path):
    urls = database_urls("postgres://app:pw@db/tapbank", None, tmp_path)
    assert urls.runtime == urls.owner == "postgresql+psycopg://app:pw@db/tapbank"


def test_the_migration_url_names_the_owner(tmp_path):
    urls = database_urls("postgresql://app@db/tapbank", "postgresql://owner@db/tapbank", tmp_path)
    assert urls == ("postgresql+psycopg://app@db/tapbank", "postgresql+psycopg://owner@db/tapbank")


def test_a_migration_url_without_database_url_is_refused(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TAPBANK_MIGRATION_DATABASE_URL", "postgresql://owner@db/tapbank")
    with pytest.raises(
        ConfigurationError, match="TAPBANK_MIGRATION_DATABASE_URL needs DATABASE_URL"
    ):
        DevelopmentConfig().check()


@pytest.fixture
def development_server(tmp_path):
    """An embedded server of the test's own, as `make run` has under instance/postgres."""
    data_dir = tmp_path / "postgres"
    yield data_dir
    stop_server(data_dir)


@pytest.mark.slow
def test_the_development_server_gets_an_owner_and_a_runtime_role(development_server, tmp_path):
    urls = development_database_urls(development_server)
    assert development_database_urls(development_server) == urls  # made once, then reused
    for url, role in ((urls.runtime, RUNTIME_LOGIN), (urls.owner, OWNER)):
        parsed = make_url(url)
        assert (parsed.username, parsed.password, parsed.database) == (
            role,
            None,
            DEVELOPMENT_DATABASE,
        )

    app = create_app(make_config(urls.runtime, TAPBANK_MIGRATION_DATABASE_URL=urls.owner))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    with psycopg.connect(database.libpq_url(urls.owner)) as owner:
        attributes = owner.execute(
            "SELECT rolname::text, rolsuper, rolcreaterole, pg_has_role(rolname, %s, 'MEMBER') "
            "FROM pg_roles WHERE rolname IN (%s, %s) ORDER BY rolname",
            (RUNTIME_GROUP, OWNER, RUNTIME_LOGIN),
        ).fetchall()
        owners = owner.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace"
        ).fetchall()
    assert attributes == [(OWNER, False, False, False), (RUNTIME_LOGIN, False, False, True)]
    assert owners == [(OWNER,)]
    with psycopg.connect(database.libpq_url(urls.runtime)) as runtime:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("ALTER TABLE transfers DISABLE TRIGGER transfers_never_truncated")


def test_the_runtime_role_needs_no_more_than_a_tap_and_the_reconciler_take(runtime_app, two_roles):
    """The worker's path: pairs left matched, then settled by a reconcile pass as the runtime
    role, with a run recorded."""
    deferred = create_app(
        make_config(
            two_roles.runtime_url,
            TAPBANK_MIGRATION_DATABASE_URL=two_roles.owner_url,
            TAPBANK_SETTLE_INLINE=False,
        )
    )
    try:
        with deferred.app_context():
            factory = Factory(deferred, deferred.test_client(), ADMIN)
            payer, payee = factory.account("Fay", deposit=1000), factory.account("Gus")
            assert factory.tap(payer, payee, 250).json["status"] == "matched"
            result = deferred.test_cli_runner().invoke(args=["reconcile"])
            assert result.exit_code == 0, result.output
            assert factory.balance(payee) == 250
    finally:
        with deferred.app_context():
            db.engine.dispose()
