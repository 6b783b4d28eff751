"""What gunicorn's hooks do in a worker: fresh database sockets and the embedded reconciler."""

import fcntl
import sys
from pathlib import Path

from flask import Flask

from tapbank.extensions import db

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
