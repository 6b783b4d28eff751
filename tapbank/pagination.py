"""Keyset pagination with opaque cursors, newest first."""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import Session

from tapbank.domain_errors import InvalidCursor

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def encode_cursor(values: list[str]) -> str:
    """Wrap the last row's sort key as an opaque string."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, size: int) -> list[str]:
    """Unwrap a cursor made by encode_cursor, or refuse it (InvalidCursor)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except ValueError as error:
        raise InvalidCursor() from error
    if not isinstance(values, list) or len(values) != size:
        raise InvalidCursor()
    return [str(value) for value in values]


def paginate(
    session: Session,
    query: Select,
    sort_columns: list,
    cursor: str | None,
    limit: int,
    parse: list[Callable[[str], Any]],
    key_of: Callable[[Any], list[Any]],
) -> Page:
    """Run query newest first, after cursor, returning at most limit rows and the next cursor.

    sort_columns must identify a row uniquely; parse turns each cursor string back into its
    column's type and key_of reads a row's values of those columns.
    """
    if cursor:
        raw = decode_cursor(cursor, len(sort_columns))
        try:
            after = [convert(value) for convert, value in zip(parse, raw, strict=True)]
        except ValueError as error:
            raise InvalidCursor() from error
        if any(isinstance(value, int) and not BIGINT_MIN <= value <= BIGINT_MAX for value in after):
            raise InvalidCursor()  # no row has such an id; PostgreSQL would fail comparing it
        query = query.where(tuple_(*sort_columns) < tuple_(*after))
    query = query.order_by(*(column.desc() for column in sort_columns)).limit(limit + 1)
    rows = list(session.execute(query).all())
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if has_more:
        next_cursor = encode_cursor([str(value) for value in key_of(rows[-1])])
    return Page(items=rows, next_cursor=next_cursor)
