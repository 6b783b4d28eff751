"""flask accounts create | deposit | list."""

import uuid

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from tapbank.cli.money import from_minor_units, to_minor_units
from tapbank.domain_errors import LegacyUserIdTaken
from tapbank.extensions import db
from tapbank.ledger import accounts as account_rules
from tapbank.ledger.accounts import MAX_DEPOSIT_MINOR, OPENABLE_TYPES
from tapbank.models import Account, AccountType
from tapbank.models.accounts import LEGACY_USER_ID_MAX

accounts_cli = AppGroup("accounts", help="Open accounts, deposit into them, list them.")


def deposit_amount(text: str, currency: str) -> int:
    """A deposit typed in major units, in minor units, no larger than the API accepts."""
    amount = to_minor_units(text, currency)
    if amount > MAX_DEPOSIT_MINOR:
        limit = from_minor_units(MAX_DEPOSIT_MINOR, currency)
        raise click.BadParameter(f"{text!r} is more than the largest deposit, {limit} {currency}")
    return amount


@accounts_cli.command("create")
@click.option("--owner", required=True, help="The account holder's name.")
@click.option(
    "--type",
    "account_type",
    type=click.Choice([kind.value for kind in OPENABLE_TYPES]),
    default="checking",
    show_default=True,
)
@click.option("--bank", default="tapbank", show_default=True, help="The bank's name.")
@click.option("--currency", default=None, help="ISO 4217 code; default TAPBANK_CURRENCY.")
@click.option("--deposit", "opening", default="0", help="Opening deposit in major units: 12.50.")
@click.option(
    "--legacy-user-id",
    type=click.IntRange(1, LEGACY_USER_ID_MAX),
    default=None,
    help="The user id AISBackend's clients know this account by.",
)
def create_account(
    owner: str,
    account_type: str,
    bank: str,
    currency: str | None,
    opening: str,
    legacy_user_id: int | None,
):
    """Open an account and print its id and its key (shown this once)."""
    currency = (currency or current_app.config["TAPBANK_CURRENCY"]).upper()
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha()):
        raise click.BadParameter("must be a 3-letter ISO 4217 code", param_hint="--currency")
    if not owner.strip() or len(owner) > 200:
        raise click.BadParameter("must be 1 to 200 characters", param_hint="--owner")
    amount = deposit_amount(opening, currency)
    try:
        account, key = account_rules.open_account(
            db.session,
            owner_name=owner,
            account_type=AccountType(account_type),
            bank_name=bank,
            currency=currency,
            opening_deposit=amount,
            legacy_user_id=legacy_user_id,
        )
    except LegacyUserIdTaken as error:
        db.session.rollback()
        raise click.BadParameter(error.message, param_hint="--legacy-user-id") from None
    db.session.commit()
    click.echo(f"account id: {account.id}")
    if legacy_user_id is not None:
        click.echo(f"legacy user id: {legacy_user_id}")
    click.echo(f"api key:    {key}  (shown once)")


@accounts_cli.command("deposit")
@click.argument("account_id", type=click.UUID)
@click.argument("amount")
@click.option("--memo", default=None, help="A note on the deposit.")
def deposit(account_id: uuid.UUID, amount: str, memo: str | None):
    """Deposit AMOUNT (major units, e.g. 12.50) into ACCOUNT_ID."""
    account = db.session.get(Account, account_id)
    if account is None or account.account_type == AccountType.FUNDING:
        raise click.ClickException(f"no account {account_id}")
    minor = deposit_amount(amount, account.currency)
    if minor <= 0:
        raise click.BadParameter("must be more than zero", param_hint="AMOUNT")
    transfer = account_rules.deposit(db.session, account, minor, memo)
    db.session.commit()
    click.echo(
        f"deposited {from_minor_units(minor, account.currency)} {account.currency}: "
        f"transfer {transfer.id}, balance {from_minor_units(account.balance, account.currency)}"
    )


@accounts_cli.command("list")
def list_accounts():
    """List customer accounts with their balances."""
    rows = db.session.scalars(
        select(Account)
        .where(Account.account_type != AccountType.FUNDING)
        .order_by(Account.created_at)
    ).all()
    for account in rows:
        click.echo(
            f"{account.id}  {account.account_number}  {account.status:<6}  "
            f"{from_minor_units(account.balance, account.currency):>14} {account.currency}  "
            f"{account.owner_name}"
        )
    if not rows:
        click.echo("no accounts yet")
