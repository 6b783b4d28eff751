"""Running the reconciler's jobs and recording them, whichever scheduler calls: the worker's
row, its heartbeat, and each run's duration and result. Nothing here knows APScheduler; a
scheduler only calls register, run, request_stop and record_stop (see worker.py)."""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from tapbank.extensions import db
from tapbank.metrics import BACKLOG
from tapbank.models import JobId, JobRun, Worker, WorkerState
from tapbank.scheduler import jobs
from tapbank.taps.queries import QUEUED_MATCHED

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
FORGET_AFTER = timedelta(days=1)


def job_intervals(config) -> dict[JobId, float]:
    """How often, in seconds, a worker runs each job."""
    reconcile = config["TAPBANK_RECONCILE_INTERVAL_MS"] / 1000
    return {
        JobId.RECONCILE: reconcile,
        JobId.EXPIRE: max(reconcile, 1.0),
        JobId.HEARTBEAT: HEARTBEAT_SECONDS,
    }


class JobRunner:
    """One worker's jobs: registers the worker, runs a job by its id in a fresh app context and
    records how the run went, and records the worker's clean stop."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.id = uuid.uuid4()
        self.stopping = threading.Event()
        self.intervals = job_intervals(app.config)
        self.tasks: dict[JobId, Callable] = {
            JobId.RECONCILE: jobs.reconcile,
            JobId.EXPIRE: jobs.expire,
            JobId.HEARTBEAT: self.beat,
        }

    def register(self) -> None:
        """Record this worker as running, and forget workers silent for a day."""
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
                    state=WorkerState.RUNNING,
                )
            )
            _forget_silent_workers()
            db.session.commit()
        log.info("reconciler worker %s started", self.id)

    def run(self, job_id: JobId) -> None:
        """Run one job now and record its duration and result; an error is recorded, not raised,
        and the next run retries."""
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        error = None
        totals = None
        with self.app.app_context():
            try:
                totals = self.tasks[job_id](self.stopping)
            except Exception as failure:  # the job's boundary: recorded, and the next run retries
                db.session.rollback()
                error = _describe(failure)
                log.exception("job %s failed", job_id.value)
            duration_ms = int((time.perf_counter() - started) * 1000)
            self._record(job_id, started_at, duration_ms, totals, error)
            db.session.remove()

    def request_stop(self) -> None:
        """Ask running jobs to hand back after their current batch."""
        self.stopping.set()

    def record_stop(self) -> None:
        """Record the clean stop, once the scheduler has let its running jobs finish."""
        with self.app.app_context():
            db.session.execute(
                update(Worker)
                .where(Worker.id == self.id)
                .values(state=WorkerState.STOPPED, last_heartbeat_at=func.now())
            )
            db.session.commit()
            db.session.remove()
        log.info("reconciler worker %s stopped", self.id)

    def beat(self, _stop: threading.Event | None = None) -> None:
        """The heartbeat job: this worker is alive; gauge the matched backlog. (It takes the stop
        event as every job does, and has nothing to stop.)"""
        BACKLOG.set(db.session.scalar(select(func.count()).where(QUEUED_MATCHED)))
        db.session.execute(
            update(Worker)
            .where(Worker.id == self.id)
            .values(last_heartbeat_at=func.now(), state=WorkerState.RUNNING)
        )
        _forget_silent_workers()
        db.session.commit()

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
            .values(worker_id=self.id, job_id=job_id.value, **values)
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
