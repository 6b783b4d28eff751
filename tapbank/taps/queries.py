"""The tap tables as Core, and the statements more than one tap module runs, built once."""

from sqlalchemy import bindparam, select

from tapbank.models import Half, QueuedTap, Tap

TAPS, HALVES, QUEUE = Tap.__table__, Half.__table__, QueuedTap.__table__

HALVES_OF_TAP = select(*HALVES.c).where(HALVES.c.tap_key == bindparam("key"))
# A queued tap is awaiting its second half until it matches, then matched until it ends. The
# partial indexes of tap_queue are on these predicates.
QUEUED_AWAITING = QUEUE.c.matched_at.is_(None)
QUEUED_MATCHED = QUEUE.c.matched_at.is_not(None)
# A matched pair set aside (it failed alone, or met a held account) waits for its retry_at, out
# of the index the reconcilers take pairs from.
QUEUED_SET_ASIDE = QUEUE.c.retry_at.is_not(None)
QUEUED_NOT_SET_ASIDE = QUEUE.c.retry_at.is_(None)
