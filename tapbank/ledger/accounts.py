"""Opening accounts, deposits, keys and freezing: the account rules, free of HTTP."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tapbank.domain_errors import LegacyUserIdTaken
from tapbank.keys import key_digest, new_account_key
from tapbank.ledger.postings import Posting, post_transfer
from tapbank.models import Account, AccountStatus, AccountType, Transfer, TransferKind
from tapbank.models.accounts import funding_account_id

# The largest deposit the API and the command line take, in minor units.
MAX_DEPOSIT_MINOR = 10**12
# The account types a customer account may be opened as; funding accounts are the bank's own.
OPENABLE_TYPES = (AccountType.CHECKING, AccountType.SAVINGS)
LEGACY_USER_ID_UNIQUE = "uq_accounts_legacy_user_id"


def open_account(
    session: Session,
    *,
    owner_name: str,
    account_type: AccountType,
    bank_name: str,
    currency: str,
    opening_deposit: int = 0,
    legacy_user_id: int | None = None,
) -> tuple[Account, str]:
    """Open an account with a fresh key, an optional opening deposit and an optional AISBackend
    user id. Returns (account, key)."""
    key = new_account_key()
    account = Account(
        id=uuid.uuid4(),
        owner_name=owner_name,
        account_type=account_type,
        bank_name=bank_name,
        currency=currency,
        balance=0,
        status=AccountStatus.ACTIVE,
        api_key_digest=key_digest(key),
        legacy_user_id=legacy_user_id,
    )
    session.add(account)
    if legacy_user_id is None:
        session.flush()
    else:
        _flush_claiming_legacy_user_id(session, legacy_user_id)
    if opening_deposit:
        deposit(session, account, opening_deposit, memo="Opening deposit")
    session.refresh(account)
    return account, key


def _flush_claiming_legacy_user_id(session: Session, legacy_user_id: int) -> None:
    """Flush the new account; a legacy user id another account holds is refused, not a 500.

    The unique constraint decides, so two openings racing for one id cannot both have it; the
    savepoint keeps the caller's transaction usable after the refusal.
    """
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        if getattr(error.orig.diag, "constraint_name", None) == LEGACY_USER_ID_UNIQUE:
            message = f"Another account already has legacy_user_id {legacy_user_id}."
            raise LegacyUserIdTaken(message) from None
        raise


def deposit(session: Session, account: Account, amount: int, memo: str | None = None) -> Transfer:
    """Move money from the bank's funding account into a customer account, in its currency."""
    return post_transfer(
        session,
        Posting(
            debit_account_id=ensure_funding_account(session, account.currency),
            credit_account_id=account.id,
            amount=amount,
            currency=account.currency,
            kind=TransferKind.DEPOSIT,
            memo=memo,
        ),
    )


def ensure_funding_account(session: Session, currency: str) -> uuid.UUID:
    """The bank's funding account in currency, made the first time that currency is used."""
    account_id = funding_account_id(currency)
    session.execute(
        insert(Account)
        .values(
            id=account_id,
            owner_name=f"tapbank funding {currency}",
            account_type=AccountType.FUNDING,
            bank_name="tapbank",
            currency=currency,
            balance=0,
            status=AccountStatus.ACTIVE,
        )
        .on_conflict_do_nothing(index_elements=[Account.id])
    )
    return account_id


def rotate_key(session: Session, account: Account) -> str:
    """Give the account a new key; the old one stops working when this commits."""
    key = new_account_key()
    account.api_key_digest = key_digest(key)
    account.updated_at = datetime.now(UTC)
    session.flush()
    return key


def set_status(session: Session, account: Account, status: AccountStatus) -> Account:
    """Freeze or unfreeze an account."""
    account.status = status
    account.updated_at = datetime.now(UTC)
    session.flush()
    return account
