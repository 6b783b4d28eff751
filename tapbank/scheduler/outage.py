"""A worker's watch on the database while it cannot be reached: one log line when it goes and
one when it returns, and a growing pause between tries meanwhile, shared by every job."""

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.5
LONGEST_PAUSE_SECONDS = 5.0


class OutageWatch:
    """Whether the database is out of reach, since when, and when a job may next try it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.since: float | None = None
        self.pause = 0.0
        self.next_try = 0.0

    @property
    def ongoing(self) -> bool:
        """Whether the database was out of reach at the last try."""
        return self.since is not None

    def may_try(self) -> bool:
        """Whether a job may reach for the database now: always, unless pausing in an outage."""
        with self.lock:
            return self.since is None or self.clock() >= self.next_try

    def lost(self, error: str) -> None:
        """A job could not reach the database: say so once an outage, and pause longer."""
        with self.lock:
            now = self.clock()
            if self.since is None:
                self.since = now
                self.pause = FIRST_PAUSE_SECONDS
                log.warning(
                    "the database cannot be reached (%s); the jobs pause and retry, "
                    "waiting up to %.0fs between tries",
                    error,
                    LONGEST_PAUSE_SECONDS,
                )
            elif now < self.next_try:
                return  # a run that started before the pause: the pause already counts it
            else:
                self.pause = min(self.pause * 2, LONGEST_PAUSE_SECONDS)
            self.next_try = now + self.pause

    def reached(self) -> None:
        """A job reached the database: if that ends an outage, say so."""
        with self.lock:
            if self.since is None:
                return
            log.info(
                "the database answers again after %.1fs out of reach; the jobs resume",
                self.clock() - self.since,
            )
            self.since = None
