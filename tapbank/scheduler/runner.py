"""Running the reconciler's jobs and recording them, whichever scheduler calls: the worker's
row, its heartbeat, and each run's duration and result. Nothing here knows APScheduler; a
scheduler only calls register, run, request_stop and record_stop (see worker.py).

No outage of the database stops a worker: its runs pause and retry (outage.py), and each job's
last failure is recorded once the database answers again.
"""

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from tapbank.database_errors import database_unreachable, describe_failure, roll_back_quietly
from tapbank.extensions import db
from tapbank.metrics import BACKLOG, SET_ASIDE
from tapbank.models import JobId, JobRun, Worker, WorkerState
from tapbank.scheduler import jobs
from tapbank.scheduler.outage import OutageWatch
from tapbank.taps.queries import QUEUED_MATCHED, QUEUED_SET_ASIDE

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 2.0
PRUNE_SECONDS = 600.0
FORGET_AFTER = timedelta(days=1)


def job_intervals(config) -> dict[JobId, float]:
    """How often, in seconds, a worker runs each job."""
    reconcile = config["TAPBANK_RECONCILE_INTERVAL_MS"] / 1000
    return {
        JobId.RECONCILE: reconcile,
        JobId.EXPIRE: max(reconcile, 1.0),
        JobId.HEARTBEAT: HEARTBEAT_SECONDS,
        JobId.PRUNE: PRUNE_SECONDS,
    }


@dataclass(frozen=True)
class RunOutcome:
    """How one run of a job went, as its row records it, and whether the database was out of
    reach (then the row cannot be written either, until it answers again)."""

    started_at: datetime
    duration_ms: int
    result: str
    error: str | None = None
    unreachable: bool = False


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
            JobId.PRUNE: jobs.prune,
        }
        self.outage = OutageWatch()
        self.registered = False
        # Each job's last failed run that could not be recorded, the database being out of reach.
        self.unrecorded: dict[JobId, RunOutcome] = {}

    def register(self) -> None:
        """Record this worker as running, and forget workers silent for a day. While the
        database cannot be reached, the first run that reaches it registers the worker."""
        with self.app.app_context():
            try:
                self._register()
            except Exception as failure:
                roll_back_quietly(db.session)
                if not database_unreachable(failure):
                    raise
                self.outage.lost(describe_failure(failure))
            finally:
                db.session.remove()
        log.info("reconciler worker %s started", self.id)

    def run(self, job_id: JobId) -> None:
        """Run one job now and record its duration and result; an error is recorded, not raised,
        and the next run retries. While the database cannot be reached, runs pause and retry."""
        if not self.outage.may_try():
            return
        with self.app.app_context():
            try:
                missed = self.unrecorded.pop(job_id, None)
                # The first run after an outage records the outage's last failure and leaves the
                # work to the next run, so that the failure stays to be seen for one interval.
                self._record_or_keep(job_id, missed or self._attempt(job_id))
            finally:
                db.session.remove()

    def request_stop(self) -> None:
        """Ask running jobs to hand back after their current batch."""
        self.stopping.set()

    def record_stop(self) -> None:
        """Record the clean stop, once the scheduler has let its running jobs finish."""
        with self.app.app_context():
            try:
                db.session.execute(
                    update(Worker)
                    .where(Worker.id == self.id)
                    .values(state=WorkerState.STOPPED, last_heartbeat_at=func.now())
                )
                db.session.commit()
            except Exception as failure:
                roll_back_quietly(db.session)
                if not database_unreachable(failure):
                    raise
                log.warning("worker %s stops unrecorded: the database cannot be reached", self.id)
            finally:
                db.session.remove()
        log.info("reconciler worker %s stopped", self.id)

    def beat(self, _stop: threading.Event | None = None) -> None:
        """The heartbeat job: this worker is alive; gauge the matched backlog and the pairs set
        aside. (It takes the stop event as every job does, and has nothing to stop.)"""
        BACKLOG.set(db.session.scalar(select(func.count()).where(QUEUED_MATCHED)))
        SET_ASIDE.set(db.session.scalar(select(func.count()).where(QUEUED_SET_ASIDE)))
        self._register()

    def _register(self) -> None:
        # An upsert: a worker forgotten during a long outage comes back with its own id.
        # Times from the database's clock, the one the status compares them with: a worker
        # host's own clock may be off by more than the staleness allowed.
        now = func.now()
        db.session.execute(
            insert(Worker)
            .values(
                id=self.id,
                hostname=socket.gethostname()[:255],
                pid=os.getpid(),
                started_at=now,
                last_heartbeat_at=now,
                state=WorkerState.RUNNING,
            )
            .on_conflict_do_update(
                index_elements=[Worker.id],
                set_={"last_heartbeat_at": now, "state": WorkerState.RUNNING},
            )
        )
        _forget_silent_workers()
        db.session.commit()
        self.registered = True

    def _attempt(self, job_id: JobId) -> RunOutcome:
        """Run the job; how it went, its error caught and described."""
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        error = None
        totals = None
        unreachable = False
        try:
            totals = self.tasks[job_id](self.stopping)
        except Exception as failure:  # the job's boundary: recorded, and the next run retries
            roll_back_quietly(db.session)
            error = describe_failure(failure)
            unreachable = database_unreachable(failure)
            if unreachable:
                self.outage.lost(error)
            else:
                log.exception("job %s failed", job_id.value)
        duration_ms = int((time.perf_counter() - started) * 1000)
        result = "error" if error else (totals.summary() if totals else "ok")
        return RunOutcome(started_at, duration_ms, result, error, unreachable)

    def _record_or_keep(self, job_id: JobId, outcome: RunOutcome) -> None:
        """Record the run; when the database cannot be reached, keep a failure to record later."""
        if not outcome.unreachable:
            try:
                self._record(job_id, outcome)
                self.outage.reached()
                return
            except Exception as failure:
                roll_back_quietly(db.session)
                if not database_unreachable(failure):
                    log.exception("recording job %s failed", job_id.value)
                    return
                self.outage.lost(describe_failure(failure))
        if outcome.error:
            self.unrecorded[job_id] = replace(outcome, unreachable=False)
        # Whatever became of this worker's row meanwhile, it is written again before the next
        # record, which needs it.
        self.registered = False

    def _record(self, job_id: JobId, outcome: RunOutcome) -> None:
        if not self.registered:
            self._register()
        values = {
            "next_run_at": outcome.started_at + timedelta(seconds=self.intervals[job_id]),
            "last_run_at": outcome.started_at,
            "last_duration_ms": outcome.duration_ms,
            "last_result": outcome.result,
            "last_error": outcome.error,
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
