"""The record of failed authentications, also the source of the rate limit."""

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tapbank.extensions import db
from tapbank.models.types import CreatedAt, SerialKey


class AuthFailure(db.Model):
    __tablename__ = "auth_failures"
    __table_args__ = (
        Index("ix_auth_failures_client_network_occurred_at", "client_network", "occurred_at"),
        # What the retention job deletes by.
        Index("ix_auth_failures_occurred_at", "occurred_at"),
    )

    id: Mapped[SerialKey]
    occurred_at: Mapped[CreatedAt]
    client_address: Mapped[str] = mapped_column(String(64))
    # What the rate limit counts by: the address, or an IPv6 client's whole /64.
    client_network: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(300))
    key_fingerprint: Mapped[str | None] = mapped_column(String(16))
