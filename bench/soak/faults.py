"""The fault schedule: spread over the run, each kind at least once (reconciler SIGKILL and
restart, gunicorn worker SIGKILL, PostgreSQL stopped for a few seconds, an account row held FOR NO
KEY UPDATE for ten seconds); the mid-request hang-ups are the clients' own scenario."""

import random
import threading
import time

import psycopg

from bench.database import libpq_url
from bench.soak.record import Recorder
from bench.soak.stack import Stack

KINDS = ("reconciler_killed", "web_worker_killed", "account_held", "database_down")
DOWN_SECONDS = 5.0
HOLD_SECONDS = 10.0
LEAD_IN = 8.0
MIN_SLOT = 15.0


def schedule(duration: float) -> list[tuple[float, str]]:
    """(seconds after the start, kind): every kind once, then again in turn while time lasts,
    the last one ending well before the load stops."""
    usable = max(duration - LEAD_IN - 15.0, 4 * 5.0)
    count = max(len(KINDS), int(usable // MIN_SLOT))
    slot = usable / count
    return [(LEAD_IN + i * slot, KINDS[i % len(KINDS)]) for i in range(count)]


class FaultInjector:
    def __init__(self, stack: Stack, recorder: Recorder, account_ids: list[str]) -> None:
        self.stack = stack
        self.recorder = recorder
        self.account_ids = account_ids
        self.rng = random.Random(7)
        self.reconciler_kills = 0

    def run(self, duration: float, stop: threading.Event) -> None:
        start = time.monotonic()
        for offset, kind in schedule(duration):
            if stop.wait(max(0.0, start + offset - time.monotonic())):
                return
            fault = self.recorder.fault(kind)
            try:
                fault.detail = getattr(self, kind)()
            except Exception as error:  # noqa: BLE001 - reported, and the run goes on
                fault.detail = f"injection failed: {error!r}"
                self.recorder.violation(f"fault {kind} could not be injected: {error!r}")
            fault.ended = time.monotonic()
            print(
                f"soak: t={fault.started - start:5.1f}s {kind} "
                f"({fault.ended - fault.started:.1f}s): {fault.detail}",
                flush=True,
            )

    def reconciler_killed(self) -> str:
        self.reconciler_kills += 1
        return self.stack.kill_reconciler(self.reconciler_kills)

    def web_worker_killed(self) -> str:
        return self.stack.kill_web_worker()

    def database_down(self) -> str:
        self.stack.stop_postgres()
        time.sleep(DOWN_SECONDS)
        problem = self.stack.start_postgres()
        if problem:
            self.recorder.violation(problem)
        return f"PostgreSQL stopped for {DOWN_SECONDS:.0f}s and started again"

    def account_held(self) -> str:
        account = self.rng.choice(self.account_ids)
        with psycopg.connect(libpq_url(self.stack.direct_url)) as conn:
            conn.execute(
                "SELECT 1 FROM accounts WHERE id = %s FOR NO KEY UPDATE", (account,)
            ).fetchone()
            time.sleep(HOLD_SECONDS)
            conn.rollback()
        return f"account {account} held FOR NO KEY UPDATE for {HOLD_SECONDS:.0f}s"
