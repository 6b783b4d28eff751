"""The tables, as typed SQLAlchemy models."""

from tapbank.models.accounts import Account, AccountStatus, AccountType
from tapbank.models.idempotency import IdempotencyKey
from tapbank.models.ledger import Direction, Transfer, TransferKind
from tapbank.models.security import AuthFailure
from tapbank.models.taps import Failure, Half, HalfStatus, QueuedTap, Side, Tap, TapStatus
from tapbank.models.workers import JobId, JobRun, Worker, WorkerState

__all__ = [
    "Account",
    "AccountStatus",
    "AccountType",
    "AuthFailure",
    "Direction",
    "Failure",
    "Half",
    "HalfStatus",
    "IdempotencyKey",
    "JobId",
    "JobRun",
    "QueuedTap",
    "Side",
    "Tap",
    "TapStatus",
    "Transfer",
    "TransferKind",
    "Worker",
    "WorkerState",
]
