"""The operator's POSTs taken with an Idempotency-Key, each with the answer it got."""

from typing import Any

from sqlalchemy import Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, SerialKey


class IdempotencyKey(db.Model):
    """One key in its scope (caller, method, path): the request's digest and the answer given.

    Written in the transaction of the work it guards, so a committed record always has its
    answer; the answer is empty only while that transaction runs.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("caller", "method", "path", "key", name="uq_idempotency_keys_scope"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[SerialKey]
    # 'admin' or an account's id: who sent it, never the bearer key.
    caller: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(255))
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None]
    # As answered, but with what must never be stored in the clear (a new account's key) null.
    response_body: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]
