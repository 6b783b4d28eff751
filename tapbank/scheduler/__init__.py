"""Reconciler workers: jobs, their runner and heartbeats, the scheduler that drives them, and
the status read from them. The scheduler is chosen here, once."""

from flask import Flask


def new_worker(app: Flask):
    """A reconciler worker for app (start, stop), driven by APScheduler (worker.py)."""
    from tapbank.scheduler.worker import ReconcilerWorker

    return ReconcilerWorker(app)
