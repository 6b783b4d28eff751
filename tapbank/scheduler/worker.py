"""A reconciler worker driven by APScheduler: each job on its interval in a thread pool, and a
clean stop that lets a running batch finish. Another scheduler would replace this file alone,
calling the same JobRunner, and new_worker (tapbank/scheduler/__init__.py) would return it."""

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from tapbank.scheduler.runner import JobRunner


class ReconcilerWorker:
    """Runs the reconcile, expire, heartbeat and prune jobs for one process until stopped."""

    def __init__(self, app: Flask) -> None:
        self.runner = JobRunner(app)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={
                "default": {"type": "threadpool", "max_workers": len(self.runner.intervals)}
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )

    @property
    def id(self):
        """The worker's id, as its row and its jobs' rows record it."""
        return self.runner.id

    def start(self) -> None:
        """Register this worker and start its jobs in background threads."""
        self.runner.register()
        for job_id, seconds in self.runner.intervals.items():
            self.scheduler.add_job(
                self.runner.run,
                "interval",
                seconds=seconds,
                args=[job_id],
                id=job_id.value,
                next_run_time=datetime.now(UTC),
            )
        self.scheduler.start()

    def stop(self) -> None:
        """Stop taking new runs, let a running batch finish, and record the clean stop."""
        self.runner.request_stop()
        self.scheduler.shutdown(wait=True)
        self.runner.record_stop()
