"""Accounts: open, read, list, freeze, deposit, rotate keys, history."""

import uuid

from flask import current_app
from flask.views import MethodView

from tapbank.api.accounts.schemas import (
    AccountCreatedSchema,
    AccountCreateSchema,
    AccountPageSchema,
    AccountPatchSchema,
    AccountSchema,
    ApiKeySchema,
    DepositSchema,
    HistoryPageSchema,
    TransferSchema,
)
from tapbank.api.base import Blueprint
from tapbank.api.fields import ListArgsSchema
from tapbank.auth import authenticate
from tapbank.errors import ApiError
from tapbank.extensions import db
from tapbank.ledger import accounts as account_rules
from tapbank.ledger.history import account_history, list_accounts
from tapbank.models import Account, AccountStatus, AccountType

blp = Blueprint("accounts", __name__, description="Accounts, deposits and keys.")


def visible_account(account_id: uuid.UUID, *, for_update: bool = False) -> Account:
    """The customer account if the caller may see it; 404 otherwise, so ids do not leak."""
    principal = authenticate()
    # FOR NO KEY UPDATE, as every writer of accounts locks them: the foreign-key checks of
    # halves being taken for the account meanwhile need not wait for it.
    lock = {"key_share": True} if for_update else None
    account = db.session.get(Account, account_id, with_for_update=lock)
    if (
        account is None
        or account.account_type == AccountType.FUNDING
        or not principal.may_see(account.id)
    ):
        raise ApiError(404, "account_not_found", "No account with this id for this key.")
    return account


@blp.route("/accounts")
class Accounts(MethodView):
    @blp.admin_only
    @blp.arguments(AccountCreateSchema)
    @blp.idempotent(withheld=("api_key",))
    @blp.response(201, AccountCreatedSchema)
    def post(self, fields):
        """Open an account; its key is in this response only (a replay shows it null)."""
        account, key = account_rules.open_account(
            db.session,
            owner_name=fields["owner_name"],
            account_type=AccountType(fields["account_type"]),
            bank_name=fields["bank_name"],
            currency=fields["currency"] or current_app.config["TAPBANK_CURRENCY"],
            opening_deposit=fields["opening_deposit"],
            legacy_user_id=fields["legacy_user_id"],
        )
        return {"account": account, "api_key": key}

    @blp.admin_only
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, AccountPageSchema)
    def get(self, args):
        """List accounts, newest first."""
        return list_accounts(db.session, args["cursor"], args["limit"])


@blp.route("/accounts/<uuid:account_id>")
class AccountById(MethodView):
    @blp.authenticated
    @blp.response(200, AccountSchema)
    def get(self, account_id):
        """Read an account (its owner or the operator)."""
        return visible_account(account_id)

    @blp.admin_only
    @blp.arguments(AccountPatchSchema)
    @blp.response(200, AccountSchema)
    def patch(self, fields, account_id):
        """Freeze or unfreeze an account."""
        account = visible_account(account_id, for_update=True)
        account_rules.set_status(db.session, account, AccountStatus(fields["status"]))
        db.session.commit()
        return account


@blp.route("/accounts/<uuid:account_id>/deposits")
class Deposits(MethodView):
    @blp.admin_only
    @blp.arguments(DepositSchema)
    @blp.idempotent()
    @blp.response(201, TransferSchema)
    def post(self, fields, account_id):
        """Deposit into an account from the bank's funding account."""
        account = visible_account(account_id)
        return account_rules.deposit(db.session, account, fields["amount"], fields["memo"])


@blp.route("/accounts/<uuid:account_id>/api-keys")
class ApiKeys(MethodView):
    @blp.authenticated
    @blp.response(201, ApiKeySchema)
    def post(self, account_id):
        """Rotate the account's key: the new one is returned once, the old one stops working."""
        account = visible_account(account_id, for_update=True)
        key = account_rules.rotate_key(db.session, account)
        db.session.commit()
        return {"api_key": key}


@blp.route("/accounts/<uuid:account_id>/transfers")
class AccountTransfers(MethodView):
    @blp.authenticated
    @blp.arguments(ListArgsSchema, location="query")
    @blp.response(200, HistoryPageSchema)
    def get(self, args, account_id):
        """The account's settled transfers and deposits, newest first, with balances after."""
        account = visible_account(account_id)
        return account_history(db.session, account.id, args["cursor"], args["limit"])
