"""What the clients and the fault schedule saw, kept thread-safe: every request's time and status,
every tap key a phone sent a half of, every fault's window, every violation."""

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# After the database returns, PgBouncer retries its logins every second and a request may have
# queued up to query_wait_timeout (5 s) before: 503s that late still belong to the outage.
DB_GRACE_SECONDS = 8.0
OTHER_GRACE_SECONDS = 2.0


@dataclass
class Request:
    method: str
    kind: str  # "put", "get", "admin"
    started: float
    ended: float
    status: int | None  # None: no HTTP answer (connection reset)
    error: str = ""


@dataclass
class Fault:
    kind: str
    started: float
    ended: float = 0.0
    detail: str = ""

    @property
    def grace_end(self) -> float:
        grace = DB_GRACE_SECONDS if self.kind == "database_down" else OTHER_GRACE_SECONDS
        return (self.ended or time.monotonic()) + grace


@dataclass
class Tap:
    """One tap key: who pays whom, what the scenario expects, what each phone saw."""

    key: str
    scenario: str
    payer: str
    payee: str
    amount: int
    acknowledged: list[str] = field(default_factory=list)  # sides with a 2xx
    seen: list[dict] = field(default_factory=list)  # tap bodies the phones got
    final: dict | None = None
    broken: bool = False  # a half got an answer it must not (already a violation)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Request] = []
        self.taps: dict[str, Tap] = {}
        self.faults: list[Fault] = []
        self.violations: list[str] = []
        self.disconnects = Counter()
        self.started = time.monotonic()

    def request(self, entry: Request) -> None:
        with self.lock:
            self.requests.append(entry)

    def tap(self, tap: Tap) -> Tap:
        with self.lock:
            self.taps[tap.key] = tap
        return tap

    def violation(self, message: str) -> None:
        message = f"t={time.monotonic() - self.started:.1f}s {message}"
        with self.lock:
            self.violations.append(message)
        print(f"soak: VIOLATION {message}", flush=True)

    def fault(self, kind: str) -> Fault:
        fault = Fault(kind, time.monotonic())
        with self.lock:
            self.faults.append(fault)
        return fault

    def in_fault(self, started: float, ended: float, kinds: tuple[str, ...] | None = None) -> bool:
        """Whether [started, ended] overlaps a fault window (with its grace) of the given kinds."""
        with self.lock:
            faults = list(self.faults)
        return any(
            (kinds is None or f.kind in kinds) and started <= f.grace_end and ended >= f.started
            for f in faults
        )
