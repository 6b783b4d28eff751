"""The demo: three accounts whose keys are kept under instance/ so the tools can use them.

Development only. The keys are stored in the database as digests like every key; the file
under instance/ (mode 600) is the demo's convenience, as the development admin key is.
"""

import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from tapbank.keys import key_digest
from tapbank.ledger.accounts import deposit, open_account
from tapbank.ledger.emptying import truncate_with_the_ledger
from tapbank.models import Account, AccountStatus, AccountType

DEMO_FILE = "demo-accounts.json"
DEMO_OPENING_BALANCE = 100_000_000  # 1,000,000.00: enough for long simulations
SMALL_DEMO_BALANCE = 2_000  # 20.00: little enough that an overdraw is easy to show
# Alice pays Bob; Carol is the third phone: an overdraw, a stranger who overheard a key.
OPENING_BALANCES = {
    "Alice Demo": DEMO_OPENING_BALANCE,
    "Bob Demo": DEMO_OPENING_BALANCE,
    "Carol Demo": SMALL_DEMO_BALANCE,
}
DEMO_OWNERS = tuple(OPENING_BALANCES)
# The user ids AISBackend's phone script sends, so it runs unchanged against make run-legacy.
LEGACY_USER_IDS = {"Alice Demo": 1234567890, "Bob Demo": 2234567890, "Carol Demo": 3234567890}
# Tables a demo reset empties besides transfers; accounts and the workers' rows stay.
RESET_TABLES = ("tap_queue", "halves", "taps", "failures", "auth_failures", "idempotency_keys")


@dataclass(frozen=True)
class DemoAccount:
    owner: str
    id: str
    key: str


def demo_accounts(session: Session, instance_path: Path, currency: str) -> list[DemoAccount]:
    """The demo accounts, each made (and funded) if this database does not have it yet."""
    known = {
        account.owner: account
        for account in _read(instance_path)
        if account.owner in OPENING_BALANCES and _exists(session, account)
    }
    if len(known) == len(DEMO_OWNERS):
        return [known[owner] for owner in DEMO_OWNERS]
    accounts = [known.get(owner) or _open(session, owner, currency) for owner in DEMO_OWNERS]
    _write(instance_path, accounts)
    return accounts


def reset_demo(session: Session, instance_path: Path, currency: str) -> list[DemoAccount]:
    """Empty taps, transfers, failures, auth failures and idempotency keys (whose answers would
    name transfers gone); zero every balance; refund the demo."""
    truncate_with_the_ledger(session, RESET_TABLES)
    session.execute(text("UPDATE accounts SET balance = 0 WHERE balance <> 0"))
    for account in _read(instance_path):
        if account.owner in OPENING_BALANCES and _exists(session, account):
            row = session.get(Account, uuid.UUID(account.id))
            row.status = AccountStatus.ACTIVE
            deposit(session, row, OPENING_BALANCES[account.owner], memo="Demo opening deposit")
    return demo_accounts(session, instance_path, currency)


def _open(session: Session, owner: str, currency: str) -> DemoAccount:
    account, key = open_account(
        session,
        owner_name=owner,
        account_type=AccountType.CHECKING,
        bank_name="tapbank demo",
        currency=currency,
        opening_deposit=OPENING_BALANCES[owner],
        legacy_user_id=_unclaimed(session, LEGACY_USER_IDS[owner]),
    )
    return DemoAccount(owner, str(account.id), key)


def _unclaimed(session: Session, legacy_user_id: int) -> int | None:
    """The id, unless an account (a demo account whose key file was lost) already has it."""
    taken = select(Account.id).where(Account.legacy_user_id == legacy_user_id)
    return None if session.execute(taken).first() else legacy_user_id


def _exists(session: Session, account: DemoAccount) -> bool:
    row = session.get(Account, uuid.UUID(account.id))
    return row is not None and row.api_key_digest == key_digest(account.key)


def _read(instance_path: Path) -> list[DemoAccount]:
    path = instance_path / DEMO_FILE
    if not path.exists():
        return []
    try:
        return [DemoAccount(**entry) for entry in json.loads(path.read_text())]
    except (ValueError, TypeError):
        return []


def _write(instance_path: Path, accounts: list[DemoAccount]) -> None:
    instance_path.mkdir(parents=True, exist_ok=True)
    path = instance_path / DEMO_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump([asdict(account) for account in accounts], handle, indent=2)
