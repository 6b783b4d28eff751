"""The container files: no engine runs here, so check what can be checked without one."""

import os
from pathlib import Path

import yaml

from tapbank.config import Config
from tapbank.database_options import pooler_connect_query

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_runs_postgres_a_one_shot_migration_the_api_and_two_workers():
    services = _compose()["services"]
    assert set(services) == {"db", "pgbouncer", "migrate", "api", "worker"}
    assert services["migrate"]["command"] == ["flask", "--app", "tapbank", "db", "upgrade"]
    assert services["worker"]["command"] == ["flask", "--app", "tapbank", "scheduler", "run"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )


def test_every_tapbank_service_runs_in_production_with_its_secrets_from_the_environment():
    services = _compose()["services"]
    for name in ("migrate", "api", "worker"):
        environment = services[name]["environment"]
        assert environment["TAPBANK_ENV"] == "production"
        assert environment["TAPBANK_ADMIN_KEY"].startswith("${TAPBANK_ADMIN_KEY:?")
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")


def test_the_api_and_workers_go_through_pgbouncer_and_the_migration_goes_straight_to_postgres():
    services = _compose()["services"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert "@pgbouncer:6432/" in environment["DATABASE_URL"]
        assert environment["TAPBANK_DB_POOLER"] == "pgbouncer"
        assert services[name]["depends_on"]["pgbouncer"]["condition"] == "service_started"
    migrate = services["migrate"]["environment"]
    assert "@db:5432/" in migrate["DATABASE_URL"]
    assert "TAPBANK_DB_POOLER" not in migrate


def pgbouncer_settings(path: Path) -> dict[str, str]:
    """name -> value of a PgBouncer ini file's settings (sections flattened)."""
    settings = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith((";", "#", "[", "%")):
            continue
        name, _, value = line.partition("=")
        settings[name.strip()] = value.strip()
    return settings


def test_pgbouncer_pools_transactions_and_gives_up_within_seconds():
    shared = pgbouncer_settings(DOCKER / "pgbouncer" / "pgbouncer.ini")
    assert shared["pool_mode"] == "transaction"
    assert int(shared["query_wait_timeout"]) <= 5
    assert int(shared["server_login_retry"]) <= 2
    assert int(shared["server_connect_timeout"]) <= 5


def test_the_containers_pgbouncer_sets_the_timeouts_tapbank_sets_itself_by_default(monkeypatch):
    for name in [name for name in os.environ if name.startswith("TAPBANK_DB_")]:
        monkeypatch.delenv(name)
    defaults = vars(Config())
    compose_ini = (DOCKER / "pgbouncer" / "compose.ini").read_text()
    assert f"connect_query='{pooler_connect_query(defaults)}'" in compose_ini
    assert "%include /etc/pgbouncer/pgbouncer.ini" in compose_ini


def test_the_pgbouncer_image_is_debians_runs_as_a_user_and_keeps_no_password():
    dockerfile = (DOCKER / "pgbouncer" / "Dockerfile").read_text()
    assert "FROM debian:bookworm-slim" in dockerfile
    assert "apt-get install -y --no-install-recommends pgbouncer" in dockerfile
    assert "\nUSER postgres\n" in dockerfile
    for name in ("pgbouncer.ini", "compose.ini", "entrypoint.sh"):
        assert f"docker/pgbouncer/{name}" in dockerfile
    entrypoint = (DOCKER / "pgbouncer" / "entrypoint.sh").read_text()
    assert "umask 077" in entrypoint and "$PGBOUNCER_PASSWORD" in entrypoint


def test_the_image_is_slim_runs_as_a_user_checks_readiness_and_serves_with_the_repo_config():
    dockerfile = (DOCKER / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "\nUSER tapbank\n" in dockerfile
    assert "/readyz" in dockerfile.split("HEALTHCHECK", 1)[1]
    assert 'CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]' in dockerfile
    for line in dockerfile.splitlines():
        if line.startswith("COPY"):
            sources = [word for word in line.split()[1:-1] if not word.startswith("--")]
            for source in sources:
                assert (DOCKER.parent / source).exists(), source
    assert "requirements-test" not in dockerfile
