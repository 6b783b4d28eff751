"""Reconciler workers' heartbeats and their jobs' last results."""

import enum
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, Timestamp


class WorkerState(enum.StrEnum):
    """A worker's state: running and stopped are recorded; dead is a running worker whose
    heartbeat went stale, as the status reports it."""

    RUNNING = "running"
    STOPPED = "stopped"
    DEAD = "dead"


class JobId(enum.StrEnum):
    """The jobs every reconciler worker runs, as their runs are recorded."""

    RECONCILE = "reconcile"
    EXPIRE = "expire"
    HEARTBEAT = "heartbeat"
    PRUNE = "prune"


class Worker(db.Model):
    __tablename__ = "workers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[CreatedAt]
    last_heartbeat_at: Mapped[Timestamp]
    state: Mapped[str] = mapped_column(String(20))


class JobRun(db.Model):
    __tablename__ = "job_runs"

    worker_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True
    )
    job_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[Timestamp | None]
    last_run_at: Mapped[Timestamp | None]
    last_duration_ms: Mapped[int | None]
    last_result: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
