"""Settings from the environment; production refuses to start without its secrets."""

import pytest

from tapbank import config as settings
from tapbank import create_app
from tapbank.config import (
    SETTING_RANGES,
    ConfigurationError,
    DevelopmentConfig,
    ProductionConfig,
    config_from_environment,
)
from tapbank.database_options import engine_options

PRODUCTION_DATABASE = "postgresql+psycopg://tapbank:s3cret-password@db.internal/tapbank"
PRODUCTION_ADMIN_KEY = "tbadmin_production-key-never-shown"


@pytest.fixture
def production(monkeypatch):
    """TAPBANK_ENV=production with nothing else of tapbank's set."""
    monkeypatch.setenv("TAPBANK_ENV", "production")
    for name in ("DATABASE_URL", "TAPBANK_ADMIN_KEY", "TAPBANK_SCHEDULER"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def refusal() -> str:
    """Why a production API process refuses to start."""
    with pytest.raises(ConfigurationError) as caught:
        ProductionConfig().check_api()
    return str(caught.value)


def test_tapbank_env_chooses_the_settings(monkeypatch):
    for name, config_class in [
        ("production", ProductionConfig),
        ("testing", settings.TestingConfig),
        ("development", DevelopmentConfig),
    ]:
        monkeypatch.setenv("TAPBANK_ENV", name)
        assert type(config_from_environment()) is config_class
    monkeypatch.delenv("TAPBANK_ENV")
    assert type(config_from_environment()) is DevelopmentConfig


def test_an_unknown_tapbank_env_is_refused(monkeypatch):
    monkeypatch.setenv("TAPBANK_ENV", "staging")
    with pytest.raises(ConfigurationError, match="staging"):
        config_from_environment()


def test_production_refuses_without_database_url_and_admin_key(production):
    reason = refusal()
    assert "DATABASE_URL" in reason
    assert "TAPBANK_ADMIN_KEY" in reason
    assert "\n" not in reason


def test_production_refuses_without_database_url_naming_only_it(production):
    production.setenv("TAPBANK_ADMIN_KEY", PRODUCTION_ADMIN_KEY)
    reason = refusal()
    assert "DATABASE_URL" in reason
    assert "TAPBANK_ADMIN_KEY" not in reason
    assert PRODUCTION_ADMIN_KEY not in reason
    assert "\n" not in reason


def test_production_refuses_without_admin_key_naming_only_it(production):
    production.setenv("DATABASE_URL", PRODUCTION_DATABASE)
    reason = refusal()
    assert "TAPBANK_ADMIN_KEY" in reason
    assert "DATABASE_URL" not in reason
    assert "s3cret-password" not in reason
    assert "\n" not in reason


def test_a_production_worker_needs_its_database_but_no_admin_key(production):
    with pytest.raises(ConfigurationError) as caught:
        ProductionConfig().check()
    assert str(caught.value) == "TAPBANK_ENV=production needs DATABASE_URL"

    production.setenv("DATABASE_URL", PRODUCTION_DATABASE)
    config = config_from_environment()
    config.check()
    assert config.TAPBANK_ADMIN_KEY is None


def test_a_production_app_without_the_admin_key_takes_no_key_as_the_admins(production):
    production.setenv("DATABASE_URL", PRODUCTION_DATABASE)
    app = create_app()
    assert app.config["TAPBANK_ADMIN_KEY"] is None  # none made, unlike in development


def test_production_refuses_an_empty_value_as_missing(production):
    production.setenv("DATABASE_URL", "")
    production.setenv("TAPBANK_ADMIN_KEY", PRODUCTION_ADMIN_KEY)
    assert "DATABASE_URL" in refusal()


def test_create_app_refuses_before_it_touches_anything(production):
    with pytest.raises(ConfigurationError, match="DATABASE_URL"):
        create_app()


def test_production_starts_with_both_and_never_runs_jobs_in_the_api(production):
    production.setenv("DATABASE_URL", PRODUCTION_DATABASE)
    production.setenv("TAPBANK_ADMIN_KEY", PRODUCTION_ADMIN_KEY)
    production.setenv("TAPBANK_SCHEDULER", "embedded")

    config = config_from_environment()
    config.check_api()

    assert config.SQLALCHEMY_DATABASE_URI == PRODUCTION_DATABASE
    assert config.TAPBANK_ADMIN_KEY == PRODUCTION_ADMIN_KEY
    assert config.TAPBANK_SCHEDULER == "off"


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("TAPBANK_CURRENCY", "eur")
    monkeypatch.setenv("TAPBANK_MAX_TRANSFER_MINOR", "5000")
    monkeypatch.setenv("TAPBANK_TAP_TTL_SECONDS", "30")
    monkeypatch.setenv("TAPBANK_SETTLE_INLINE", "0")

    config = DevelopmentConfig()

    assert config.TAPBANK_CURRENCY == "EUR"
    assert config.TAPBANK_MAX_TRANSFER_MINOR == 5000
    assert config.TAPBANK_TAP_TTL_SECONDS == 30
    assert config.TAPBANK_SETTLE_INLINE is False


def test_the_defaults_are_the_contracts(monkeypatch):
    for name in (
        "TAPBANK_CURRENCY",
        "TAPBANK_MAX_TRANSFER_MINOR",
        "TAPBANK_TAP_TTL_SECONDS",
        "TAPBANK_RECONCILE_INTERVAL_MS",
        "TAPBANK_RECONCILE_BATCH",
        "TAPBANK_SETTLE_INLINE",
        "TAPBANK_SCHEDULER",
        "TAPBANK_IDEMPOTENCY_RETENTION_HOURS",
        "TAPBANK_AUTH_FAILURE_RETENTION_DAYS",
    ):
        monkeypatch.delenv(name, raising=False)

    config = DevelopmentConfig()

    assert config.TAPBANK_CURRENCY == "USD"
    assert config.TAPBANK_MAX_TRANSFER_MINOR == 1_000_000
    assert config.TAPBANK_TAP_TTL_SECONDS == 120
    assert config.TAPBANK_RECONCILE_INTERVAL_MS == 500
    assert config.TAPBANK_RECONCILE_BATCH == 1000
    assert config.TAPBANK_SETTLE_INLINE is True
    assert config.TAPBANK_SCHEDULER == "embedded"
    assert config.TAPBANK_IDEMPOTENCY_RETENTION_HOURS == 24
    assert config.TAPBANK_AUTH_FAILURE_RETENTION_DAYS == 30
    assert ProductionConfig().TAPBANK_SCHEDULER == "off"


def test_a_setting_that_is_not_a_number_is_refused_naming_it(monkeypatch):
    monkeypatch.setenv("TAPBANK_TAP_TTL_SECONDS", "two minutes")
    with pytest.raises(ConfigurationError, match="TAPBANK_TAP_TTL_SECONDS"):
        DevelopmentConfig()


def test_the_database_settings_bound_every_wait_by_default(monkeypatch):
    for name in (*SETTING_RANGES, "TAPBANK_DB_POOLER"):
        monkeypatch.delenv(name, raising=False)

    options = engine_options(vars(DevelopmentConfig()))

    assert options["isolation_level"] == "READ COMMITTED"
    assert options["hide_parameters"] is True
    assert (options["pool_size"], options["max_overflow"], options["pool_timeout"]) == (4, 3, 2)
    assert options["connect_args"] == {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        "options": "-c lock_timeout=1000 -c statement_timeout=10000 "
        "-c idle_in_transaction_session_timeout=60000",
    }


def test_behind_pgbouncer_no_startup_options_are_sent(monkeypatch):
    monkeypatch.setenv("TAPBANK_DB_POOLER", "pgbouncer")

    config = DevelopmentConfig()
    config.check()

    assert "options" not in engine_options(vars(config))["connect_args"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TAPBANK_DB_LOCK_TIMEOUT_MS", "0"),
        ("TAPBANK_DB_STATEMENT_TIMEOUT_MS", "-1"),
        ("TAPBANK_DB_STATEMENT_TIMEOUT_MS", "500"),
        ("TAPBANK_DB_POOL_SIZE", "0"),
        ("TAPBANK_DB_CONNECT_TIMEOUT_S", "0"),
        ("TAPBANK_DB_KEEPALIVES_COUNT", "0"),
        ("TAPBANK_DB_POOLER", "pgpool"),
        ("TAPBANK_TAP_TTL_SECONDS", "0"),
        ("TAPBANK_TAP_TTL_SECONDS", "86401"),
        ("TAPBANK_MAX_TRANSFER_MINOR", "0"),
        ("TAPBANK_MAX_TRANSFER_MINOR", str(2**53)),
        ("TAPBANK_RECONCILE_BATCH", "10001"),
        ("TAPBANK_RECONCILE_INTERVAL_MS", "0"),
        ("TAPBANK_INLINE_LOCK_TIMEOUT_MS", "1001"),
        ("TAPBANK_METRICS_PORT", "-1"),
        ("TAPBANK_METRICS_PORT", "65536"),
        ("TAPBANK_WORKER_METRICS_PORT", "70000"),
        # The contract replays an idempotency key's answer for at least 24 hours.
        ("TAPBANK_IDEMPOTENCY_RETENTION_HOURS", "23"),
        ("TAPBANK_IDEMPOTENCY_RETENTION_HOURS", "8761"),
        ("TAPBANK_AUTH_FAILURE_RETENTION_DAYS", "0"),
        ("TAPBANK_AUTH_FAILURE_RETENTION_DAYS", "3651"),
    ],
)
def test_a_setting_out_of_range_is_refused_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        DevelopmentConfig().check()


def test_the_statement_and_idle_timeouts_may_be_turned_off(monkeypatch):
    monkeypatch.setenv("TAPBANK_DB_STATEMENT_TIMEOUT_MS", "0")
    monkeypatch.setenv("TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", "0")

    DevelopmentConfig().check()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TAPBANK_TAP_TTL_SECONDS", "86400"),
        ("TAPBANK_MAX_TRANSFER_MINOR", str(2**53 - 1)),
        ("TAPBANK_RECONCILE_BATCH", "10000"),
        ("TAPBANK_METRICS_PORT", "65535"),
        ("TAPBANK_METRICS_PORT", "0"),
        ("TAPBANK_IDEMPOTENCY_RETENTION_HOURS", "24"),
        ("TAPBANK_IDEMPOTENCY_RETENTION_HOURS", "8760"),
        ("TAPBANK_AUTH_FAILURE_RETENTION_DAYS", "1"),
    ],
)
def test_a_setting_at_the_edge_of_its_range_is_taken(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    config = DevelopmentConfig()
    config.check()
    assert getattr(config, name) == int(value)


def test_an_idempotency_retention_under_a_day_refuses_to_start(monkeypatch):
    # The contract replays an Idempotency-Key's answer for at least 24 hours.
    monkeypatch.setenv("TAPBANK_IDEMPOTENCY_RETENTION_HOURS", "23")
    with pytest.raises(ConfigurationError, match="RETENTION_HOURS must be 24 to 8760, not 23"):
        create_app()
