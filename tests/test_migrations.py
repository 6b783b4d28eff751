"""The migration chain: one head, and it builds (and unbuilds) the schema from an empty database."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from tapbank import create_app
from tapbank.extensions import db
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
def empty_app():
    """An app on a database of its own that starts empty, dropped afterwards."""
    url = database.create_database(database.server_url())
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
