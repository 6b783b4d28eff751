"""What gunicorn's hooks do: in the master, the settings, the connection budget of its workers
and the metrics port; in a worker, fresh database sockets and the embedded reconciler."""

import fcntl
import logging
import sys
from pathlib import Path

from flask import Flask

from tapbank.config import Config
from tapbank.extensions import db

log = logging.getLogger(__name__)

_embedded = {}


def dispose_inherited_engines() -> None:
    """Drop pooled connections inherited from the master (when the app was preloaded)."""
    wsgi = sys.modules.get("wsgi")
    app = getattr(wsgi, "app", None)
    if isinstance(app, Flask):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)


def start_embedded_scheduler(app: Flask) -> None:
    """Run the reconciler jobs in this worker if embedded and no sibling on this host does."""
    if not isinstance(app, Flask) or app.config.get("TAPBANK_SCHEDULER") != "embedded":
        return
    lock_path = Path(app.instance_path) / "embedded-scheduler.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    lock = open(lock_path, "w")  # noqa: SIM115 - held open for the worker's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return
    from tapbank.scheduler import new_worker

    worker = new_worker(app)
    worker.start()
    _embedded.update(worker=worker, lock=lock)


def stop_embedded_scheduler() -> None:
    """Stop this worker's embedded reconciler, if it runs one."""
    worker = _embedded.pop("worker", None)
    if worker is not None:
        worker.stop()
        _embedded.pop("lock").close()


def checked_settings() -> Config:
    """Before any worker starts: the API's settings, or exit with a one-line refusal."""
    # Not the app: building it in the master would write metrics under the master's pid.
    from tapbank.config import ConfigurationError, config_from_environment
    from tapbank.logs import configure_logging

    try:
        config = config_from_environment()
        config.check_api()
    except ConfigurationError as refusal:
        sys.exit(f"tapbank refuses to start: {refusal}")
    configure_logging(config.ENV_NAME)
    return config


def check_connection_budget(config: Config, workers: int, threads: int) -> None:
    """Warn, or in production exit, when the workers' pools could open more connections than
    the database leaves for clients."""
    from tapbank.config import ConfigurationError
    from tapbank.connection_budget import check_connection_budget as check
    from tapbank.database_options import connections_per_process
    from tapbank.database_roles import database_urls

    settings = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    try:
        url = database_urls(
            config.SQLALCHEMY_DATABASE_URI,
            config.TAPBANK_MIGRATION_DATABASE_URL,
            Path.cwd() / "instance",
        ).runtime
        check(settings, url, workers, f"gunicorn's {workers} worker(s)")
    except ConfigurationError as refusal:
        sys.exit(f"tapbank refuses to start: {refusal}")
    per_worker = connections_per_process(settings)
    if threads > per_worker:
        log.warning(
            "each gunicorn worker runs %d threads but opens at most %d connections: requests "
            "beyond that wait for one, then answer 503 busy",
            threads,
            per_worker,
        )


def serve_metrics_port(config: Config) -> None:
    """With TAPBANK_METRICS_PORT set, the master serves every worker's metrics, summed, there
    (and the API's own port has no /metrics: metrics.py)."""
    port = config.TAPBANK_METRICS_PORT
    if not port:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    try:
        start_http_server(port, addr=config.TAPBANK_METRICS_ADDR, registry=registry)
    except OSError as error:
        sys.exit(
            f"tapbank refuses to start: TAPBANK_METRICS_PORT {port} on "
            f"{config.TAPBANK_METRICS_ADDR}: {error.strerror or error}"
        )
    log.info("metrics served on %s:%d", config.TAPBANK_METRICS_ADDR, port)
