"""Column helpers shared by the models."""

import enum
import uuid
from datetime import datetime
from typing import Annotated

import uuid_utils
import uuid_utils.compat
from sqlalchemy import BigInteger, DateTime, Enum, func
from sqlalchemy.orm import mapped_column


def time_ordered_id() -> uuid.UUID:
    """A UUIDv7: ledger rows made in time order land at the end of their primary-key index
    instead of at random pages, which keeps inserts fast as the tables grow."""
    return uuid_utils.compat.uuid7()


def time_ordered_id_text() -> str:
    """The same, as text, for rows that go to the database by COPY: no Python UUID is made."""
    return str(uuid_utils.uuid7())


MinorUnits = Annotated[int, mapped_column(BigInteger)]
UUIDKey = Annotated[uuid.UUID, mapped_column(primary_key=True, default=uuid.uuid4)]
SerialKey = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
CreatedAt = Annotated[
    datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]


def db_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """A PostgreSQL enum type that stores the members' values, not their names."""
    return Enum(enum_class, name=name, values_callable=lambda members: [m.value for m in members])
