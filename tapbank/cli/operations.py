"""flask reconcile, flask prune, flask ledger verify, flask scheduler run | status."""

import json
import os
import signal
import sys
import threading
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from prometheus_client import start_http_server
from sqlalchemy.orm import Session

from tapbank.config import ConfigurationError
from tapbank.connection_budget import check_connection_budget
from tapbank.extensions import db
from tapbank.ledger.verify import verify_ledger
from tapbank.scheduler import jobs, new_worker
from tapbank.scheduler.status import scheduler_status
from tapbank.taps.set_aside import set_aside_summary
from tapbank.taps.settlement import tap_ttl

ledger_cli = AppGroup("ledger", help="Check the ledger.")
scheduler_cli = AppGroup("scheduler", help="Run reconciler workers and see how they are doing.")


@click.command("reconcile")
@with_appcontext
def reconcile_command():
    """Run one reconcile pass now: expire lone halves, then settle or fail matched pairs."""
    totals = jobs.reconcile_all()
    click.echo(
        f"settled {totals.settled}, failed {totals.failed}, expired {totals.expired} "
        f"in {totals.batches} batch(es)"
    )
    for reason, count in sorted(totals.reasons.items()):
        click.echo(f"  failed for {reason}: {count}")


@click.command("prune")
@with_appcontext
def prune_command():
    """Delete idempotency keys and failed authentications past their retention, now."""
    totals = jobs.prune()
    click.echo(
        f"deleted {totals.idempotency_keys} idempotency key(s) and "
        f"{totals.auth_failures} failed authentication(s)"
    )


@ledger_cli.command("verify")
def verify_command():
    """Check every ledger invariant; exit 1 naming each one that fails."""
    config = current_app.config
    # A session of its own: the checks need a fresh read-only snapshot whatever came before.
    with Session(db.engine) as session:
        checks = verify_ledger(
            session,
            ttl=tap_ttl(),
            interval=timedelta(milliseconds=config["TAPBANK_RECONCILE_INTERVAL_MS"]),
        )
        set_aside = set_aside_summary(session)
    for check in checks:
        verdict = "ok    " if check.holds else f"FAILED ({check.offenders} offending)"
        click.echo(f"{verdict}  invariant {check.number}: {check.statement}")
    if set_aside.count:
        click.echo(
            f"warning: {set_aside.count} matched pair(s) set aside, retried with a backoff "
            f"(oldest matched {set_aside.oldest_age_s:.0f}s ago; last error: "
            f"{set_aside.last_error})"
        )
    failed = [check for check in checks if not check.holds]
    if failed:
        click.echo(f"{len(failed)} invariant check(s) failed", err=True)
        sys.exit(1)
    click.echo("the ledger holds every invariant")


@scheduler_cli.command("run")
def run_worker():
    """Run a reconciler worker until SIGTERM or Ctrl-C; a running batch finishes first."""
    config = current_app.config
    try:
        check_connection_budget(
            config, config["SQLALCHEMY_DATABASE_URI"], 1, "this reconciler worker"
        )
    except ConfigurationError as refusal:
        sys.exit(f"tapbank refuses to start: {refusal}")
    worker = new_worker(current_app._get_current_object())
    metrics_port = config["TAPBANK_WORKER_METRICS_PORT"]
    if metrics_port:
        start_http_server(
            metrics_port, addr=os.environ.get("TAPBANK_WORKER_METRICS_ADDR", "127.0.0.1")
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker.start()
    click.echo(f"worker {worker.id} running; SIGTERM stops it", err=True)
    stop.wait()
    worker.stop()
    click.echo(f"worker {worker.id} stopped", err=True)


@scheduler_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the endpoint's JSON.")
def status_command(as_json: bool):
    """What GET /api/v1/scheduler says: workers, jobs and the backlog."""
    stale = timedelta(seconds=current_app.config["TAPBANK_WORKER_STALE_SECONDS"])
    status = scheduler_status(db.session, stale_after=stale)
    if as_json:
        click.echo(json.dumps(status, default=str, indent=2))
        return
    click.echo(f"healthy: {'yes' if status['healthy'] else 'no'}")
    for worker in status["workers"]:
        click.echo(
            f"worker {worker['id']} {worker['hostname']} pid {worker['pid']}: {worker['state']}, "
            f"last heartbeat {worker['last_heartbeat_at']:%Y-%m-%d %H:%M:%S}"
        )
    backlog = status["backlog"]
    click.echo(
        f"backlog: {backlog['matched']} matched (oldest {backlog['oldest_matched_age_s']:.1f}s), "
        f"{backlog['awaiting']} awaiting a half"
    )
    set_aside = backlog["set_aside"]
    if set_aside["count"]:
        click.echo(
            f"set aside: {set_aside['count']} pairs (oldest {set_aside['oldest_age_s']:.1f}s), "
            f"last error: {set_aside['last_error']}"
        )
