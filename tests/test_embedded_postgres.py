"""The embedded server: made on first use, with the settings tapbank gives it."""

import psycopg
import pytest

from tapbank.embedded_postgres import SERVER_SETTINGS, start_server, stop_server


@pytest.fixture
def data_dir(tmp_path):
    """A data dir for a server of the test's own, stopped after the test whatever happened."""
    path = tmp_path / "postgres"
    yield path
    stop_server(path)


def test_a_new_embedded_server_runs_with_its_settings_from_the_start(data_dir):
    url, started = start_server(data_dir)

    assert started
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        for name, value in SERVER_SETTINGS.items():
            assert connection.execute(f"SHOW {name}").fetchone()[0] == value
        # Durability is not what was traded for speed.
        for name in ("fsync", "synchronous_commit", "full_page_writes"):
            assert connection.execute(f"SHOW {name}").fetchone()[0] == "on"
    assert start_server(data_dir) == (url, False)  # the running server is reused
