"""The tables, as typed SQLAlchemy models."""

from tapbank.models.accounts import Account, AccountStatus, AccountType
from tapbank.models.ledger import Entry, Transfer, TransferKind
from tapbank.models.security import AuthFailure
from tapbank.models.taps import Failure, Half, QueuedTap, Side, Tap, TapStatus
from tapbank.models.workers import JobRun, Worker

__all__ = [
    "Account",
    "AccountStatus",
    "AccountType",
    "AuthFailure",
    "Entry",
    "Failure",
    "Half",
    "JobRun",
    "QueuedTap",
    "Side",
    "Tap",
    "TapStatus",
    "Transfer",
    "TransferKind",
    "Worker",
]
