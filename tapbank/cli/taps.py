"""flask tap simulate | inject-error | reset, and flask demo setup."""

import json
import os
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import click
import psycopg.errors
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import ProgrammingError

from tapbank.cli.money import to_minor_units
from tapbank.devtools.demo import demo_accounts, reset_demo
from tapbank.devtools.injection import KINDS, InjectionRefused, Injector
from tapbank.devtools.simulator import (
    NotTapbank,
    Phone,
    ServerUnreachable,
    SimulationRefused,
    TapSimulator,
)
from tapbank.extensions import db
from tapbank.models import Account
from tapbank.owner_role import owner_session
from tapbank.scheduler import jobs
from tapbank.taps.records import read_tap

tap_cli = AppGroup("tap", help="Simulate phones, inject failing taps, reset the demo.")
demo_cli = AppGroup("demo", help="The demo accounts make run prints.")


def _phone(value: str | None, param: str) -> Phone | None:
    if value is None:
        return None
    account_id, sep, key = value.partition(":")
    if not sep or not account_id or not key:
        raise click.BadParameter("must be ACCOUNT_ID:KEY", param_hint=param)
    return Phone(account_id, key)


def _amount(text: str, currency: str) -> int:
    try:
        minor = to_minor_units(text, currency)
    except click.BadParameter as error:
        raise click.BadParameter(error.message, param_hint="--amount") from None
    if minor <= 0:
        raise click.BadParameter("must be more than zero", param_hint="--amount")
    return minor


def _server_url(value: str | None) -> str:
    url = value or f"http://127.0.0.1:{os.environ.get('PORT', '5000')}"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"{url!r} is not an http(s)://host[:port] URL", param_hint="--url")
    return url


def _demo(currency: str):
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("demo accounts are not made when TAPBANK_ENV=production")
    accounts = demo_accounts(db.session, Path(current_app.instance_path), currency)
    db.session.commit()
    return accounts


@tap_cli.command("simulate")
@click.option("--url", default=None, help="The server; default http://127.0.0.1:$PORT.")
@click.option("--sender", help="The payer as ACCOUNT_ID:KEY; default the first demo account.")
@click.option("--receiver", help="The payee as ACCOUNT_ID:KEY; default the second.")
@click.option("--amount", default="12.50", show_default=True, help="Major units per tap.")
@click.option(
    "--count", default=1, show_default=True, type=click.IntRange(1, 1_000_000), help="Taps to make."
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 512),
    help="Taps in flight at once.",
)
@click.option(
    "--bind/--no-bind",
    default=True,
    show_default=True,
    help="Name the payee in the payer's half, so only it may pay in (contract v2).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON, no bar.")
def simulate(url, sender, receiver, amount, count, concurrency, bind, as_json):
    """Two phones over real HTTP: COUNT taps, CONCURRENCY at a time, with a summary."""
    currency = current_app.config["TAPBANK_CURRENCY"]
    minor = _amount(amount, currency)
    url = _server_url(url)
    payer, payee = _phone(sender, "--sender"), _phone(receiver, "--receiver")
    if payer is None or payee is None:
        demo = _demo(currency)
        payer = payer or Phone(demo[0].id, demo[0].key)
        payee = payee or Phone(demo[1].id, demo[1].key)
    simulator = TapSimulator(url, payer, payee, bind_payee=bind)
    show_bar = sys.stdout.isatty() and not as_json
    try:
        if show_bar:
            with click.progressbar(length=count, label="taps") as bar:
                summary = simulator.run(count, concurrency, minor, currency, lambda: bar.update(1))
        else:
            summary = simulator.run(count, concurrency, minor, currency)
    except ServerUnreachable as error:
        raise click.ClickException(f"{error}; is the server running?") from None
    except (SimulationRefused, NotTapbank) as error:
        raise click.ClickException(str(error)) from None
    report = summary.as_dict()
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(
        f"{report['taps']} taps in {report['seconds']} s ({report['taps_per_s']} taps/s): "
        f"{report['settled']} settled, {report['failed']} failed, "
        f"{report['unresolved']} unresolved, {report['network_retries']} network retries"
    )
    for reason, number in sorted(report["failed_by_reason"].items()):
        click.echo(f"  failed for {reason}: {number}")
    latency = report["latency_ms"]
    click.echo(
        f"latency first half to outcome: p50 {latency['p50']} ms, p95 {latency['p95']} ms, "
        f"p99 {latency['p99']} ms"
    )


@tap_cli.command("inject-error")
@click.option(
    "--kind",
    type=click.Choice([*KINDS, "all"]),
    default="all",
    show_default=True,
    help="The reason the taps must fail for; all makes one of each.",
)
def inject_error(kind):
    """Make taps that must fail for KIND, through the real code path; print keys and failures."""
    currency = current_app.config["TAPBANK_CURRENCY"]
    payer, payee = _demo(currency)[:2]
    injector = Injector(current_app._get_current_object(), payer, payee, currency)
    try:
        keys = {chosen: injector.inject(chosen) for chosen in (KINDS if kind == "all" else [kind])}
    except InjectionRefused as error:
        raise click.ClickException(str(error)) from None
    jobs.reconcile_taps([uuid.UUID(key) for key in keys.values()])
    for chosen, key in keys.items():
        tap = read_tap(db.session, key)
        reasons = ", ".join(tap.failure.reasons) if tap.failure else "-"
        click.echo(f"{chosen:<19} {key}  {tap.status:<8} reasons: {reasons}")


@tap_cli.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask first.")
def reset(yes):
    """Empty taps, transfers, failures and auth failures, and restore the demo accounts."""
    if current_app.config["ENV_NAME"] == "production":
        raise click.ClickException("tap reset refuses to run when TAPBANK_ENV=production")
    if not yes:
        click.confirm("Delete every tap, transfer, failure and auth failure?", abort=True)
    # As the owner: only it may lift the rule that transfers are never truncated.
    with owner_session() as session:
        try:
            accounts = reset_demo(
                session, Path(current_app.instance_path), current_app.config["TAPBANK_CURRENCY"]
            )
        except ProgrammingError as error:
            if not isinstance(error.orig, psycopg.errors.InsufficientPrivilege):
                raise
            raise click.ClickException(
                "tap reset must run as the tables' owner: set TAPBANK_MIGRATION_DATABASE_URL "
                "to the owner role's URL"
            ) from None
        session.commit()
    click.echo("reset: taps, transfers, failures and auth failures emptied; balances zeroed")
    for account in accounts:
        click.echo(f"restored {account.owner}: {account.id}")


@demo_cli.command("setup")
def setup():
    """Make the three demo accounts once and print how to use them with the admin key."""
    accounts = _demo(current_app.config["TAPBANK_CURRENCY"])
    click.echo("tapbank demo")
    click.echo(f"  admin key:   {current_app.config['TAPBANK_ADMIN_KEY']}")
    for account in accounts:
        click.echo(f"  {account.owner:<11}  id {account.id}  key {account.key}")
        legacy_user_id = db.session.get(Account, uuid.UUID(account.id)).legacy_user_id
        if legacy_user_id is not None:
            click.echo(f"  {'':<11}  AISBackend user_id {legacy_user_id} (make run-legacy)")
    port = os.environ.get("PORT", "5000")
    click.echo(f"  open http://127.0.0.1:{port}/ to tap with them in a browser")
    click.echo("  try: flask tap simulate --count 100 --concurrency 8   (in another terminal)")
