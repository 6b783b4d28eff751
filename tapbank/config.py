"""Settings read from the environment, one class per TAPBANK_ENV."""

import os


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from error


class ConfigurationError(RuntimeError):
    """The environment does not describe a deployment tapbank can run in."""


# Each whole-number database setting's lowest and highest value. The lock timeout may not be
# off (0): the contract bounds every lock wait. The statement and idle timeouts may, for a
# long maintenance command run by hand.
# Every whole-number setting's range, checked at start: a value out of it is refused in one line.
SETTING_RANGES = {
    "TAPBANK_MAX_TRANSFER_MINOR": (1, 2**53 - 1),  # exact in every JSON reader
    "TAPBANK_TAP_TTL_SECONDS": (1, 86_400),
    "TAPBANK_RECONCILE_INTERVAL_MS": (1, 3_600_000),
    "TAPBANK_RECONCILE_BATCH": (1, 10_000),
    "TAPBANK_INLINE_LOCK_TIMEOUT_MS": (1, 1000),
    # The contract replays an Idempotency-Key's answer for at least 24 hours.
    "TAPBANK_IDEMPOTENCY_RETENTION_HOURS": (24, 8760),
    "TAPBANK_AUTH_FAILURE_RETENTION_DAYS": (1, 3650),
    "TAPBANK_DB_POOL_SIZE": (1, 1000),
    "TAPBANK_DB_MAX_OVERFLOW": (0, 1000),
    "TAPBANK_DB_POOL_TIMEOUT_S": (1, 300),
    "TAPBANK_DB_CONNECT_TIMEOUT_S": (1, 300),
    "TAPBANK_DB_LOCK_TIMEOUT_MS": (1, 60_000),
    "TAPBANK_DB_STATEMENT_TIMEOUT_MS": (0, 86_400_000),
    "TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": (0, 86_400_000),
    "TAPBANK_DB_KEEPALIVES_IDLE_S": (1, 7200),
    "TAPBANK_DB_KEEPALIVES_INTERVAL_S": (1, 7200),
    "TAPBANK_DB_KEEPALIVES_COUNT": (1, 100),
    "TAPBANK_METRICS_PORT": (0, 65_535),  # 0: off, /metrics on the API's own port
    "TAPBANK_WORKER_METRICS_PORT": (0, 65_535),  # 0: off
}
# none: straight to PostgreSQL. pgbouncer: PgBouncer refuses the startup parameter that sets
# the session's timeouts, so none is sent (its connect_query sets them), no statement is
# prepared, and the connection budget is PgBouncer's, which tapbank cannot read.
POOLERS = ("none", "pgbouncer")


class Config:
    """What every environment shares; values come from the environment when set."""

    ENV_NAME = "development"
    TESTING = False

    MAX_CONTENT_LENGTH = 16 * 1024
    JSON_SORT_KEYS = False

    API_TITLE = "tapbank"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.1.0"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"

    def __init__(self) -> None:
        self.SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or None
        # The owner role, for migrations and the development reset; DATABASE_URL when unset.
        self.TAPBANK_MIGRATION_DATABASE_URL = (
            os.environ.get("TAPBANK_MIGRATION_DATABASE_URL") or None
        )
        self.TAPBANK_ADMIN_KEY = os.environ.get("TAPBANK_ADMIN_KEY") or None
        self.TAPBANK_CURRENCY = os.environ.get("TAPBANK_CURRENCY", "USD").upper()
        self.TAPBANK_MAX_TRANSFER_MINOR = _int_env("TAPBANK_MAX_TRANSFER_MINOR", 1_000_000)
        self.TAPBANK_TAP_TTL_SECONDS = _int_env("TAPBANK_TAP_TTL_SECONDS", 120)
        self.TAPBANK_RECONCILE_INTERVAL_MS = _int_env("TAPBANK_RECONCILE_INTERVAL_MS", 500)
        self.TAPBANK_RECONCILE_BATCH = _int_env("TAPBANK_RECONCILE_BATCH", 1000)
        self.TAPBANK_SETTLE_INLINE = os.environ.get("TAPBANK_SETTLE_INLINE", "1") != "0"
        self.TAPBANK_INLINE_LOCK_TIMEOUT_MS = _int_env("TAPBANK_INLINE_LOCK_TIMEOUT_MS", 200)
        self.TAPBANK_SCHEDULER = os.environ.get("TAPBANK_SCHEDULER", self.DEFAULT_SCHEDULER)
        self.TAPBANK_AUTH_FAILURE_LIMIT = 20
        self.TAPBANK_AUTH_FAILURE_WINDOW_SECONDS = 60
        self.TAPBANK_IDEMPOTENCY_RETENTION_HOURS = _int_env(
            "TAPBANK_IDEMPOTENCY_RETENTION_HOURS", 24
        )
        self.TAPBANK_AUTH_FAILURE_RETENTION_DAYS = _int_env(
            "TAPBANK_AUTH_FAILURE_RETENTION_DAYS", 30
        )
        self.TAPBANK_WORKER_STALE_SECONDS = _int_env("TAPBANK_WORKER_STALE_SECONDS", 15)
        self.TAPBANK_TRUSTED_PROXIES = _int_env("TAPBANK_TRUSTED_PROXIES", 0)
        self.TAPBANK_WORKER_METRICS_PORT = _int_env("TAPBANK_WORKER_METRICS_PORT", 0)
        self.TAPBANK_METRICS_PORT = _int_env("TAPBANK_METRICS_PORT", 0)
        self.TAPBANK_METRICS_ADDR = os.environ.get("TAPBANK_METRICS_ADDR", "127.0.0.1")
        self._read_database_settings()

    def _read_database_settings(self) -> None:
        """The connection pool, the session's timeouts and TCP keepalives (database_options.py)."""
        self.TAPBANK_DB_POOL_SIZE = _int_env("TAPBANK_DB_POOL_SIZE", 4)
        self.TAPBANK_DB_MAX_OVERFLOW = _int_env("TAPBANK_DB_MAX_OVERFLOW", 3)
        self.TAPBANK_DB_POOL_TIMEOUT_S = _int_env("TAPBANK_DB_POOL_TIMEOUT_S", 2)
        self.TAPBANK_DB_CONNECT_TIMEOUT_S = _int_env("TAPBANK_DB_CONNECT_TIMEOUT_S", 5)
        self.TAPBANK_DB_LOCK_TIMEOUT_MS = _int_env("TAPBANK_DB_LOCK_TIMEOUT_MS", 1000)
        self.TAPBANK_DB_STATEMENT_TIMEOUT_MS = _int_env("TAPBANK_DB_STATEMENT_TIMEOUT_MS", 10_000)
        self.TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = _int_env(
            "TAPBANK_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000
        )
        self.TAPBANK_DB_KEEPALIVES_IDLE_S = _int_env("TAPBANK_DB_KEEPALIVES_IDLE_S", 30)
        self.TAPBANK_DB_KEEPALIVES_INTERVAL_S = _int_env("TAPBANK_DB_KEEPALIVES_INTERVAL_S", 10)
        self.TAPBANK_DB_KEEPALIVES_COUNT = _int_env("TAPBANK_DB_KEEPALIVES_COUNT", 3)
        self.TAPBANK_DB_POOLER = os.environ.get("TAPBANK_DB_POOLER", "none").strip().lower()

    DEFAULT_SCHEDULER = "embedded"

    def check(self) -> None:
        """Refuse settings this environment cannot run with."""
        if self.TAPBANK_SCHEDULER not in ("embedded", "off"):
            raise ConfigurationError("TAPBANK_SCHEDULER must be 'embedded' or 'off'")
        self._check_ranges()
        self._check_database_settings()

    def check_api(self) -> None:
        """Refuse settings an API process cannot serve with: check, and what only it needs."""
        self.check()

    def _check_ranges(self) -> None:
        for name, (lowest, highest) in SETTING_RANGES.items():
            value = getattr(self, name)
            if not lowest <= value <= highest:
                raise ConfigurationError(f"{name} must be {lowest} to {highest}, not {value}")

    def _check_database_settings(self) -> None:
        statement_timeout = self.TAPBANK_DB_STATEMENT_TIMEOUT_MS
        if statement_timeout and statement_timeout <= self.TAPBANK_DB_LOCK_TIMEOUT_MS:
            raise ConfigurationError(
                "TAPBANK_DB_STATEMENT_TIMEOUT_MS must be longer than TAPBANK_DB_LOCK_TIMEOUT_MS "
                "(or 0, off)"
            )
        if self.TAPBANK_DB_POOLER not in POOLERS:
            raise ConfigurationError(f"TAPBANK_DB_POOLER must be one of {', '.join(POOLERS)}")
        if self.TAPBANK_MIGRATION_DATABASE_URL and not self.SQLALCHEMY_DATABASE_URI:
            # Without DATABASE_URL the embedded server gives both roles; half of a pair of
            # URLs would run the migrations on one server and the app on another.
            raise ConfigurationError("TAPBANK_MIGRATION_DATABASE_URL needs DATABASE_URL too")


class DevelopmentConfig(Config):
    """Local work: an embedded PostgreSQL and an admin key made on first run."""


class TestingConfig(Config):
    """The test suite: the database comes from the test fixtures, jobs never run by themselves."""

    ENV_NAME = "testing"
    TESTING = True
    DEFAULT_SCHEDULER = "off"


class ProductionConfig(Config):
    """A real deployment: every secret from the environment, jobs only in workers."""

    ENV_NAME = "production"
    DEFAULT_SCHEDULER = "off"

    def check(self) -> None:
        """Production needs its database given, and never runs jobs in the API."""
        _refuse_missing("TAPBANK_ENV=production", DATABASE_URL=self.SQLALCHEMY_DATABASE_URI)
        self.TAPBANK_SCHEDULER = "off"
        super().check()

    def check_api(self) -> None:
        """An API process also needs the admin key given (production never makes one); a
        reconciler worker, which answers no request, does not."""
        _refuse_missing(
            "the API in TAPBANK_ENV=production",
            DATABASE_URL=self.SQLALCHEMY_DATABASE_URI,
            TAPBANK_ADMIN_KEY=self.TAPBANK_ADMIN_KEY,
        )
        super().check_api()


def _refuse_missing(who: str, **settings: str | None) -> None:
    missing = [name for name, value in settings.items() if not value]
    if missing:
        raise ConfigurationError(f"{who} needs {' and '.join(missing)}")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> Config:
    """Build the settings named by TAPBANK_ENV."""
    env_name = os.environ.get("TAPBANK_ENV", "development")
    try:
        config_class = CONFIGS[env_name]
    except KeyError as error:
        raise ConfigurationError(
            f"TAPBANK_ENV must be one of {', '.join(CONFIGS)}, not {env_name!r}"
        ) from error
    return config_class()
