"""The newest Alembic revision shipped with this code."""

from pathlib import Path

from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from flask import Flask

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def newest_migration(app: Flask) -> str:
    """The head revision of migrations/, read once per app."""
    if "newest_migration" not in app.extensions:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        app.extensions["newest_migration"] = ScriptDirectory.from_config(config).get_current_head()
    return app.extensions["newest_migration"]
