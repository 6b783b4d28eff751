"""Target 6: tap to outcome at half the measured capacity, with inline settlement and with the
workers alone.

First the capacity: CAPACITY_CLIENTS clients tap back to back (closed loop) with inline
settlement, and the taps settled per second are the most the server carries. Then half of that
rate is offered in each mode. A paced client starts taps at that fixed rate (open loop: a slow
answer does not slow the schedule).
Each tap PUTs the sender half with the payer's key, then the receiver half with the payee's key,
and is timed from sending the second half to knowing the outcome. With inline settlement the
second answer normally says so. Otherwise the outcome is waited for, as a phone polling would:
an observer thread reads the taps table every 5 ms (one cheap query for every waiting tap, where
200 taps/s each polling the API every 10 ms would be thousands of requests a second and would
measure the polling), and the moment it sees the outcome committed, the tap's thread asks
GET /api/v1/taps/{key} and stops the clock when that answer says settled or failed.

Both modes run against gunicorn (TAPBANK_SCHEDULER=off) beside one `flask scheduler run` worker.
"""

import http.client
import json
import math
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from bench.database import BenchServer, app_context, libpq_url
from bench.processes import HOST, Gunicorn, SchedulerWorker, service_env
from tapbank.extensions import db
from tapbank.ledger.accounts import open_account
from tapbank.models import AccountType

FINAL = ("settled", "failed")
AMOUNT = 125
PHONE_PAIRS = 20
OBSERVER_POLL_SECONDS = 0.005
API_POLL_SECONDS = 0.01
OUTCOME_TIMEOUT_SECONDS = 30.0
WARM_UP_TAPS = 40
CAPACITY_CLIENTS = 16  # as many as wrk's connections in target 5


@dataclass(frozen=True)
class Phone:
    """An account as its phone knows it."""

    account_id: str
    key: str


@dataclass
class LatencyResult:
    """The taps of one mode: outcome latencies and how far behind schedule the client ran."""

    mode: str
    rate: int
    latencies_ms: list[float] = field(default_factory=list)
    outcomes: Counter = field(default_factory=Counter)
    lags_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0  # from the first tap's start to the last tap's outcome

    @property
    def taps_per_s(self) -> float:
        """The rate the taps were actually carried out at."""
        return sum(self.outcomes.values()) / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, p: float) -> float | None:
        """The nearest-rank percentile p of the outcome latencies."""
        return percentile(self.latencies_ms, p)


def percentile(values: list[float], p: float) -> float | None:
    """The nearest-rank percentile p (0-100) of values, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class OutcomeObserver:
    """Watches the taps table for waiting keys reaching an outcome, and wakes their waiters."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.waiting: dict[uuid.UUID, threading.Event] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="outcome-observer", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()

    def wait_for(self, key: uuid.UUID) -> threading.Event:
        """An event set once the tap's outcome is committed."""
        event = threading.Event()
        with self.lock:
            self.waiting[key] = event
        return event

    def _watch(self) -> None:
        with psycopg.connect(libpq_url(self.database_url), autocommit=True) as conn:
            while not self.stopping.is_set():
                with self.lock:
                    keys = list(self.waiting)
                if keys:
                    rows = conn.execute(
                        "SELECT key FROM taps WHERE key = ANY(%s) AND status IN "
                        "('settled', 'failed')",
                        [keys],
                    ).fetchall()
                    with self.lock:
                        for (key,) in rows:
                            self.waiting.pop(key).set()
                time.sleep(OBSERVER_POLL_SECONDS)


class TapClient:
    """JSON over keep-alive HTTP/1.1 connections to one server, one connection per thread."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.local = threading.local()

    def call(self, method: str, path: str, key: str, body: dict | None = None):
        """(status, parsed JSON); reconnects once if the server closed an idle connection."""
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        payload = json.dumps(body) if body is not None else None
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, path, body=payload, headers=headers)
                response = conn.getresponse()
                return response.status, json.loads(response.read() or b"null")
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        return self.local.conn


def half(phone: Phone | None = None) -> dict:
    """A half's body; with the payer's phone given, the receiver's half expecting it."""
    body = {
        "amount": AMOUNT,
        "currency": "USD",
        "device": {"os": "bench", "model": "paced client"},
        "tapped_at": datetime.now(UTC).isoformat(),
    }
    if phone is not None:
        body["sender_account_id"] = phone.account_id
    return body


def one_tap(client: TapClient, observer: OutcomeObserver, payer: Phone, payee: Phone):
    """Send both halves; returns (milliseconds to the outcome or None on an error, the outcome)."""
    key = uuid.uuid4()
    path = f"/api/v1/taps/{key}"
    status, _ = client.call("PUT", f"{path}/sender", payer.key, half())
    if status != 201:
        return None, f"sender half answered {status}"
    sent = time.monotonic()
    status, tap = client.call("PUT", f"{path}/receiver", payee.key, half(payer))
    if status != 201:
        return None, f"receiver half answered {status}"
    if tap["status"] not in FINAL:
        if not observer.wait_for(key).wait(OUTCOME_TIMEOUT_SECONDS):
            # Counted at the timeout: a percentile that reaches it is a lower bound.
            return (
                OUTCOME_TIMEOUT_SECONDS * 1000,
                f"no outcome within {OUTCOME_TIMEOUT_SECONDS:.0f}s",
            )
        status, tap = client.call("GET", path, payee.key)
        while status == 200 and tap["status"] not in FINAL:
            time.sleep(API_POLL_SECONDS)
            status, tap = client.call("GET", path, payee.key)
        if status != 200:
            return None, f"GET of the tap answered {status}"
    return (time.monotonic() - sent) * 1000, tap["status"]


def run_taps(client, observer, phones, rate: int, count: int, mode: str) -> LatencyResult:
    """Start count taps at rate per second (open loop) and collect how each ended."""
    result = LatencyResult(mode, rate)
    pairs = list(zip(phones[::2], phones[1::2], strict=True))

    def scheduled(number: int, due: float):
        """One tap, started as close to its due time as a free thread allows."""
        result.lags_ms.append((time.monotonic() - due) * 1000)
        payer, payee = pairs[number % len(pairs)]
        try:
            return one_tap(client, observer, payer, payee)
        except (OSError, http.client.HTTPException, ValueError) as error:
            return None, f"client error: {type(error).__name__}"

    # One thread per tap a second: enough for every tap in flight unless answers take over 1 s.
    with ThreadPoolExecutor(max_workers=rate) as executor:
        futures = []
        started = time.monotonic()
        for number in range(count):
            due = started + number / rate
            time.sleep(max(0.0, due - time.monotonic()))
            futures.append(executor.submit(scheduled, number, due))
        for future in futures:
            latency_ms, outcome = future.result()
            result.outcomes[outcome] += 1
            if latency_ms is not None:
                result.latencies_ms.append(latency_ms)
        result.seconds = time.monotonic() - started
    return result


def open_phones(database_url: str, admin_key: str, count: int) -> list[Phone]:
    """count funded accounts with their keys, as phones."""
    phones = []
    with app_context(database_url, admin_key):
        for number in range(count):
            account, key = open_account(
                db.session,
                owner_name=f"bench phone {number}",
                account_type=AccountType.CHECKING,
                bank_name="benchbank",
                currency="USD",
                opening_deposit=10_000_000,
            )
            phones.append(Phone(str(account.id), key))
        db.session.commit()
    return phones


def measure_capacity(client, observer, phones, seconds: float) -> float:
    """The taps per second carried to an outcome by CAPACITY_CLIENTS clients tapping back to
    back, each with a pair of phones of its own (no two wait on each other's accounts)."""
    pairs = list(zip(phones[::2], phones[1::2], strict=True))
    outcomes: Counter = Counter()
    counting = threading.Lock()
    deadline = time.monotonic() + seconds

    def tap_until_the_deadline(number: int) -> None:
        payer, payee = pairs[number % len(pairs)]
        while time.monotonic() < deadline:
            _, outcome = one_tap(client, observer, payer, payee)
            with counting:
                outcomes[outcome] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CAPACITY_CLIENTS) as executor:
        list(executor.map(tap_until_the_deadline, range(CAPACITY_CLIENTS)))
    return outcomes["settled"] / (time.monotonic() - started)


@dataclass
class TapToOutcome:
    """Target 6's measurements: the capacity, and each mode's taps at half of it."""

    capacity_taps_per_s: float
    modes: dict[str, LatencyResult]


def measure_tap_to_outcome(
    server: BenchServer, template: str, seconds: int, interval_ms: int, workers: int
) -> TapToOutcome:
    """The inline capacity, then taps at half of it for seconds, first with inline settlement,
    then with the worker alone."""
    url = server.create_database("latency", template=template)
    results = {}
    try:
        phones = open_phones(url, server.admin_key, 2 * PHONE_PAIRS)
        capacity = 0.0
        for mode, inline in (("inline", "1"), ("scheduled", "0")):
            env = service_env(
                url,
                server.admin_key,
                TAPBANK_SETTLE_INLINE=inline,
                TAPBANK_SCHEDULER="off",
                TAPBANK_RECONCILE_INTERVAL_MS=str(interval_ms),
            )
            with (
                SchedulerWorker(env),
                Gunicorn("wsgi:app", env, workers) as gunicorn,
                OutcomeObserver(url) as observer,
            ):
                client = TapClient(gunicorn.port)
                run_taps(client, observer, phones, 100, WARM_UP_TAPS, mode)
                if mode == "inline":
                    capacity = measure_capacity(client, observer, phones, seconds)
                rate = max(1, round(capacity / 2))
                results[mode] = run_taps(client, observer, phones, rate, rate * seconds, mode)
    finally:
        server.drop_database(url)
    return TapToOutcome(capacity, results)
