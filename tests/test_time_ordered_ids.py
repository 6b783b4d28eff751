"""Ledger ids are UUIDv7, in the order they were made, whether made as UUIDs or as text."""

import uuid

from tapbank.models.types import time_ordered_id, time_ordered_id_text


def test_ids_are_version_7_and_made_in_order():
    made = [time_ordered_id() for _ in range(1000)]

    assert all(isinstance(made_id, uuid.UUID) and made_id.version == 7 for made_id in made)
    assert made == sorted(made)


def test_text_ids_are_canonical_version_7_and_made_in_order():
    made = [time_ordered_id_text() for _ in range(1000)]

    assert all(str(uuid.UUID(text)) == text and uuid.UUID(text).version == 7 for text in made)
    assert made == sorted(made)
