"""Two phones over real HTTP: each half sent with its own account's key, in random order."""

import random
import statistics
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests

FINAL = ("settled", "failed")
RETRIES = 5
POLL_SECONDS = 0.02


class ServerUnreachable(Exception):
    """The server did not answer after every retry."""


class NotTapbank(Exception):
    """Something answered, but not as tapbank does: the URL names another server."""


@dataclass(frozen=True)
class Phone:
    """An account as a phone knows it: its id and its key."""

    account_id: str
    key: str


@dataclass
class Summary:
    """What a simulation saw."""

    settled: int = 0
    failed: int = 0
    failed_by_reason: Counter = field(default_factory=Counter)
    unresolved: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    keys: list[str] = field(default_factory=list)

    @property
    def taps(self) -> int:
        return self.settled + self.failed + self.unresolved

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return 0.0
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[
            int(fraction * 100) - 1
        ]

    def as_dict(self) -> dict:
        return {
            "taps": self.taps,
            "settled": self.settled,
            "failed": self.failed,
            "failed_by_reason": dict(self.failed_by_reason),
            "unresolved": self.unresolved,
            "network_retries": self.retries,
            "seconds": round(self.seconds, 3),
            "taps_per_s": round(self.taps / self.seconds, 1) if self.seconds else 0.0,
            "latency_ms": {
                "p50": round(self.percentile(0.50), 1),
                "p95": round(self.percentile(0.95), 1),
                "p99": round(self.percentile(0.99), 1),
            },
        }


class TapSimulator:
    """Sends taps between a payer and a payee phone and waits for each outcome."""

    def __init__(
        self,
        base_url: str,
        payer: Phone,
        payee: Phone,
        *,
        timeout: float = 10.0,
        bind_payee: bool = True,
    ):
        self.base_url = base_url.rstrip("/")
        self.payer = payer
        self.payee = payee
        # As a careful payer's phone does: the tap pays this payee or nobody.
        self.bind_payee = bind_payee
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()

    def run(
        self,
        count: int,
        concurrency: int,
        amount: int,
        currency: str,
        on_tap: Callable[[], None] = lambda: None,
    ) -> Summary:
        """Make count taps, concurrency at a time; on_tap is called as each one ends."""
        summary = Summary()
        started = time.perf_counter()

        def one_tap(_: int) -> None:
            key, outcome, latency_ms, retries = self._tap(amount, currency)
            with self._lock:
                summary.retries += retries
                summary.keys.append(key)
                if outcome is None:
                    summary.unresolved += 1
                elif outcome["status"] == "settled":
                    summary.settled += 1
                    summary.latencies_ms.append(latency_ms)
                else:
                    summary.failed += 1
                    for reason in outcome["failure"]["reasons"]:
                        summary.failed_by_reason[reason["reason"]] += 1
                    summary.latencies_ms.append(latency_ms)
            on_tap()

        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(one_tap, range(count)))
        summary.seconds = time.perf_counter() - started
        return summary

    def _tap(self, amount: int, currency: str):
        key = str(uuid.uuid4())
        now = datetime.now(UTC).isoformat()
        sender_body = {
            "amount": amount,
            "currency": currency,
            "device": {"os": "ios", "model": "simulated"},
            "tapped_at": now,
        }
        if self.bind_payee:
            sender_body["receiver_account_id"] = self.payee.account_id
        sender = (f"/api/v1/taps/{key}/sender", self.payer, sender_body)
        receiver = (
            f"/api/v1/taps/{key}/receiver",
            self.payee,
            {
                "sender_account_id": self.payer.account_id,
                "amount": amount,
                "currency": currency,
                "device": {"os": "android", "model": "simulated"},
                "tapped_at": now,
            },
        )
        halves = [sender, receiver]
        random.shuffle(halves)
        started = time.perf_counter()
        retries = 0
        tap = None
        for path, phone, body in halves:
            tap, tried = self._request("PUT", path, phone, body)
            retries += tried
        deadline = time.perf_counter() + self.timeout
        while tap["status"] not in FINAL and time.perf_counter() < deadline:
            time.sleep(POLL_SECONDS)
            tap, tried = self._request("GET", f"/api/v1/taps/{key}", self.payee)
            retries += tried
        latency_ms = (time.perf_counter() - started) * 1000
        return key, (tap if tap["status"] in FINAL else None), latency_ms, retries

    def _request(self, method: str, path: str, phone: Phone, body: dict | None = None):
        """Send with retries on network errors; the same key and body make a retry safe."""
        session = self._session()
        headers = {"Authorization": f"Bearer {phone.key}"}
        for attempt in range(RETRIES):
            try:
                response = session.request(
                    method, self.base_url + path, json=body, headers=headers, timeout=self.timeout
                )
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.05 * 2**attempt)
                continue
            if response.status_code >= 500:
                time.sleep(0.05 * 2**attempt)
                continue
            if response.status_code >= 400:
                raise SimulationRefused(response)
            return _tap_in(response, f"{self.base_url} answered {method} {path}"), attempt
        raise ServerUnreachable(f"{self.base_url} did not answer {method} {path}")

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session


def _tap_in(response: requests.Response, answered: str) -> dict:
    """The tap a 2xx answer carries; anything else means the URL is not a tapbank server."""
    try:
        tap = response.json()
    except ValueError:
        tap = None
    if not isinstance(tap, dict) or "status" not in tap:
        raise NotTapbank(f"{answered} with {response.status_code} but no tap: is it tapbank?")
    return tap


class SimulationRefused(Exception):
    """The server refused a half (a wrong key, an unknown account, a bad amount)."""

    def __init__(self, response: requests.Response) -> None:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        message = answer.get("message") if isinstance(answer, dict) else None
        message = message or response.reason
        super().__init__(f"the server answered {response.status_code}: {message}")
