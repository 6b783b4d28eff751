"""A reconciler worker: APScheduler jobs, a heartbeat row, and a clean stop on SIGTERM."""

import logging
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from tapbank.extensions import db
from tapbank.metrics import BACKLOG
from tapbank.models import JobRun, Worker
from tapbank.scheduler import jobs
from tapbank.taps.queries import QUEUED_MATCHED

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
FORGET_AFTER = timedelta(days=1)


class ReconcilerWorker:
    """Runs the reconcile, expire and heartbeat jobs for one process until stopped."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.id = uuid.uuid4()
        self.stopping = threading.Event()
        interval = app.config["TAPBANK_RECONCILE_INTERVAL_MS"] / 1000
        self.intervals = {
            "reconcile": interval,
            "expire": max(interval, 1.0),
            "heartbeat": HEARTBEAT_SECONDS,
        }
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": {"type": "threadpool", "max_workers": len(self.intervals)}},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    def start(self) -> None:
        """Register this worker and start its jobs in background threads."""
        with self.app.app_context():
            # Times from the database's clock, the one the status compares them with: a worker
            # host's own clock may be off by more than the staleness allowed.
            db.session.add(
                Worker(
                    id=self.id,
                    hostname=socket.gethostname()[:255],
                    pid=os.getpid(),
                    started_at=func.now(),
                    last_heartbeat_at=func.now(),
                    state="running",
                )
            )
            _forget_silent_workers()
            db.session.commit()
        tasks = {"reconcile": jobs.reconcile, "expire": jobs.expire, "heartbeat": self._beat}
        for job_id, task in tasks.items():
            self.scheduler.add_job(
                self._run,
                "interval",
                seconds=self.intervals[job_id],
                args=[job_id, task],
                id=job_id,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()
        log.info("reconciler worker %s started", self.id)

    def stop(self) -> None:
        """Stop taking new runs, let a running batch finish, and record the clean stop."""
        self.stopping.set()
        self.scheduler.shutdown(wait=True)
        with self.app.app_context():
            db.session.execute(
                update(Worker)
                .where(Worker.id == self.id)
                .values(state="stopped", last_heartbeat_at=func.now())
            )
            db.session.commit()
            db.session.remove()
        log.info("reconciler worker %s stopped", self.id)

    def _beat(self, stop: threading.Event) -> None:
        BACKLOG.set(db.session.scalar(select(func.count()).where(QUEUED_MATCHED)))
        db.session.execute(
            update(Worker)
            .where(Worker.id == self.id)
            .values(last_heartbeat_at=func.now(), state="running")
        )
        _forget_silent_workers()
        db.session.commit()

    def _run(self, job_id: str, task) -> None:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        error = None
        totals = None
        with self.app.app_context():
            try:
                totals = task(self.stopping)
            except Exception as failure:  # the job's boundary: recorded, and the next run retries
                db.session.rollback()
                error = _describe(failure)
                log.exception("job %s failed", job_id)
            duration_ms = int((time.perf_counter() - started) * 1000)
            self._record(job_id, started_at, duration_ms, totals, error)
            db.session.remove()

    def _record(self, job_id, started_at, duration_ms, totals, error) -> None:
        values = {
            "next_run_at": started_at + timedelta(seconds=self.intervals[job_id]),
            "last_run_at": started_at,
            "last_duration_ms": duration_ms,
            "last_result": "error" if error else (totals.summary() if totals else "ok"),
            "last_error": error,
        }
        db.session.execute(
            insert(JobRun)
            .values(worker_id=self.id, job_id=job_id, **values)
            .on_conflict_do_update(index_elements=[JobRun.worker_id, JobRun.job_id], set_=values)
        )
        db.session.commit()


def _forget_silent_workers() -> None:
    """Workers silent for a day are history; their job rows go with them (cascade)."""
    db.session.execute(delete(Worker).where(Worker.last_heartbeat_at < func.now() - FORGET_AFTER))


def _describe(failure: Exception) -> str:
    """The error's kind and the database's own one-line message, never SQL or a traceback."""
    original = getattr(failure, "orig", None)
    message = str(original if original is not None else failure).splitlines()
    return f"{type(failure).__name__}: {message[0] if message else ''}"[:500]
