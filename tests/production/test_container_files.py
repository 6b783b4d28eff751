"""The container files: no engine runs here, so check what can be checked without one."""

from pathlib import Path

import yaml

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_runs_postgres_a_one_shot_migration_the_api_and_two_workers():
    services = _compose()["services"]
    assert set(services) == {"db", "migrate", "api", "worker"}
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
