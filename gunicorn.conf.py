"""gunicorn settings for tapbank: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be overridden on the command line or with GUNICORN_CMD_ARGS.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", f"127.0.0.1:{os.environ.get('PORT', '5000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 30
keepalive = 5


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
