"""Fixtures: the app on a real PostgreSQL database built by the migrations, clients, factories."""

import os

import pytest
from flask_migrate import upgrade
from hypothesis import settings
from sqlalchemy import text

from tapbank import create_app
from tapbank.config import TestingConfig
from tapbank.extensions import db
from tapbank.ledger.emptying import truncate_with_the_ledger
from tapbank.models.accounts import FUNDING_ACCOUNT_ID
from tests import database
from tests.factories import Factory
from tests.live_server import LiveServer
from tests.throwaway_server import ThrowawayServer

ADMIN_KEY = "tbadmin_test-admin-key-for-the-suite-only-0123456789"

# Property tests and the schemathesis run: a few dozen fixed examples each in `make test`;
# HYPOTHESIS_PROFILE=fuzz (`make fuzz`) tries FUZZ_EXAMPLES (default 1000) fresh ones each, and
# keeps what fails in .hypothesis/ to try first next time. Every example meets the real database.
settings.register_profile("suite", max_examples=25, deadline=None, derandomize=True, database=None)
settings.register_profile(
    "fuzz", max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1000")), deadline=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="session")
def server_url():
    """The test server for this run; an embedded one this run started is stopped at its end."""
    with database.server() as url:
        yield url


@pytest.fixture(scope="session")
def database_url(server_url):
    """A fresh database for this test run, dropped at the end."""
    url = database.create_database(server_url)
    os.environ["TAPBANK_TEST_CURRENT_DATABASE_URL"] = url
    yield url
    database.drop_database(url)


def make_config(database_url: str, **overrides) -> TestingConfig:
    """Testing settings on the test database, with any setting overridden."""
    config = TestingConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_MIGRATION_DATABASE_URL = None  # the one role of the test database
    config.TAPBANK_ADMIN_KEY = ADMIN_KEY
    for name, value in overrides.items():
        setattr(config, name, value)
    return config


@pytest.fixture(scope="session")
def migrated_app(database_url):
    """The app, once per run, with the schema built by the real migrations."""
    app = create_app(make_config(database_url))
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def throwaway_server(tmp_path_factory):
    """A migrated server of this run's own, for tests that stop it; stopped at the end."""
    server = ThrowawayServer(tmp_path_factory.mktemp("throwaway") / "postgres")
    try:
        app = create_app(make_config(server.url))
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield server
    finally:
        server.stop()


@pytest.fixture
def outage_server(throwaway_server):
    """The throwaway server, running at the start and at the end of the test."""
    throwaway_server.start()
    yield throwaway_server
    throwaway_server.start()


@pytest.fixture(scope="session")
def live_server(migrated_app, database_url):
    """A real gunicorn (two workers, threads) on the migrated test database; yields its URL."""
    server = LiveServer(database_url, ADMIN_KEY)
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def app(migrated_app):
    """The app with empty tables (but the funding account) before and after each test."""
    with migrated_app.app_context():
        clear_tables()
        yield migrated_app
        db.session.remove()
        clear_tables()


def clear_tables() -> None:
    """Empty every table and restore the funding account to zero."""
    others = tuple(table for table in database.TABLES if table != "transfers")
    truncate_with_the_ledger(db.session, others, cascade=True)
    db.session.execute(
        text(
            "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, "
            "status) VALUES (:id, 'tapbank funding', 'funding', 'tapbank', 'USD', 0, 'active')"
        ),
        {"id": FUNDING_ACCOUNT_ID},
    )
    db.session.commit()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def admin_headers():
    return {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture
def factory(app, client, admin_headers):
    return Factory(app, client, admin_headers)


@pytest.fixture(scope="session")
def apps(migrated_app, database_url):
    """Apps on the test database with settings overridden, one per distinct setting, disposed."""
    made = {}

    def build(**overrides):
        settings = tuple(sorted(overrides.items()))
        if settings not in made:
            made[settings] = create_app(make_config(database_url, **overrides))
        return made[settings]

    yield build
    for other in made.values():
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def factory_with(app, apps, admin_headers):
    """A factory on another app over the test database, with some settings overridden."""

    def build(**overrides) -> Factory:
        other = apps(**overrides)
        return Factory(other, other.test_client(), admin_headers)

    return build
