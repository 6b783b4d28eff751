"""gunicorn settings for tapbank: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
# Capped by default, so that the workers' connections (TAPBANK_DB_POOL_SIZE +
# TAPBANK_DB_MAX_OVERFLOW each) fit a default PostgreSQL beside the reconciler workers
# (docs/scaling.md, "Connection budget").
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 30
# No control socket: tapbank never uses it, its default is one path per user that every gunicorn
# on the host would take over, in the container there is no home to make it in, and closing it
# added seconds to every stop.
control_socket_disable = True
keepalive = 5
accesslog = "-"
access_log_format = (
    '{"event": "request", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)

# AISBackend's phones send their key in an `api_key` header, and gunicorn drops header names with
# an underscore by default: in the WSGI environ `api_key` and `Api-Key` are one name, and so are
# X_Forwarded_For and X-Forwarded-For. Without trusted proxies the app reads no header a client
# could pass off that way, so such names are mapped. Behind trusted proxies only api_key is, and
# only from the proxies gunicorn trusts (FORWARDED_ALLOW_IPS), so that no client's
# X_Forwarded_For can pass for the proxy's X-Forwarded-For.
if os.environ.get("TAPBANK_TRUSTED_PROXIES", "0").strip() in ("", "0"):
    header_map = "dangerous"
else:
    forwarder_headers = "SCRIPT_NAME,PATH_INFO,API_KEY"

# Every worker writes its metric samples here; /metrics in any worker sums them all.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR",
    os.path.join(tempfile.gettempdir(), f"tapbank-metrics-{os.getpid()}"),
)


def on_starting(server):
    """Check the settings and the connection budget, start each server with an empty metrics
    folder, and serve it on TAPBANK_METRICS_PORT when that is set."""
    from tapbank.gunicorn_hooks import (
        check_connection_budget,
        checked_settings,
        serve_metrics_port,
    )

    settings = checked_settings()
    check_connection_budget(settings, server.cfg.workers, server.cfg.threads)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)
    serve_metrics_port(settings)


def child_exit(server, worker):
    """A dead worker's live gauges no longer count."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    """A forked worker must not reuse the master's database sockets."""
    from tapbank.gunicorn_hooks import dispose_inherited_engines

    dispose_inherited_engines()


def post_worker_init(worker):
    """With TAPBANK_SCHEDULER=embedded, one worker per host also runs the reconciler jobs."""
    from tapbank.gunicorn_hooks import start_embedded_scheduler

    start_embedded_scheduler(worker.wsgi)


def worker_exit(server, worker):
    """Stop the embedded reconciler, letting its running batch finish."""
    from tapbank.gunicorn_hooks import stop_embedded_scheduler

    stop_embedded_scheduler()
