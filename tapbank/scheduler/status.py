"""What every worker is doing, read from the database so any API process can tell."""

from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tapbank.models import JobId, JobRun, QueuedTap, Worker, WorkerState
from tapbank.taps.queries import QUEUED_AWAITING, QUEUED_MATCHED
from tapbank.taps.set_aside import set_aside_summary


def scheduler_status(session: Session, *, stale_after: timedelta) -> dict:
    """Workers (dead when their heartbeat is stale), their jobs, the backlog, and a verdict."""
    now = session.scalar(select(func.now())) or datetime.now(UTC)
    workers = session.scalars(select(Worker).order_by(Worker.started_at.desc())).all()
    runs = session.scalars(select(JobRun)).all()
    live_ids = {
        worker.id
        for worker in workers
        if worker.state == WorkerState.RUNNING and now - worker.last_heartbeat_at <= stale_after
    }
    matched, awaiting, oldest_matched = session.execute(
        select(
            func.count().filter(QUEUED_MATCHED),
            func.count().filter(QUEUED_AWAITING),
            func.min(QueuedTap.matched_at),
        )
    ).one()
    live_reconcilers_ok = [
        run
        for run in runs
        if run.worker_id in live_ids and run.job_id == JobId.RECONCILE and run.last_error is None
    ]
    return {
        "healthy": bool(live_reconcilers_ok),
        "workers": [_worker(worker, worker.id in live_ids) for worker in workers],
        "jobs": [_job(run) for run in runs],
        "backlog": {
            "matched": matched,
            "awaiting": awaiting,
            "oldest_matched_age_s": (now - oldest_matched).total_seconds() if oldest_matched else 0,
            "set_aside": asdict(set_aside_summary(session)),
        },
    }


def _worker(worker: Worker, alive: bool) -> dict:
    state = worker.state if worker.state != WorkerState.RUNNING or alive else WorkerState.DEAD
    return {
        "id": worker.id,
        "hostname": worker.hostname,
        "pid": worker.pid,
        "started_at": worker.started_at,
        "last_heartbeat_at": worker.last_heartbeat_at,
        "state": state,
    }


def _job(run: JobRun) -> dict:
    return {
        "id": run.job_id,
        "worker_id": run.worker_id,
        "next_run_at": run.next_run_at,
        "last_run_at": run.last_run_at,
        "last_duration_ms": run.last_duration_ms,
        "last_result": run.last_result,
        "last_error": run.last_error,
    }
