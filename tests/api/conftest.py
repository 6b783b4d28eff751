"""Fixtures for the API tests: a second app on the same database, as another server process."""

import pytest

from tapbank import create_app
from tapbank.extensions import db
from tests.conftest import make_config


@pytest.fixture(scope="session")
def other_app(migrated_app, database_url):
    """Another app instance on the test database: its own engine, sessions and memory."""
    other = create_app(make_config(database_url))
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def other_client(app, other_app):
    """A client of the other app; each request gets a fresh session, so it sees committed rows."""
    return other_app.test_client()
