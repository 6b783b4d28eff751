"""The taps the soak clients make: each loop picks a scenario at random and records every half a
phone sent, what it expects the tap to end as, and every answer it got."""

import random
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from bench.soak.client import Client
from bench.soak.record import Recorder, Tap

MAX_TRANSFER = 1_000_000
# Scenario and its weight.
SCENARIOS = {
    "good": 45,
    "good_concurrent": 10,
    "replay": 10,
    "duplicate": 10,
    "mismatch": 7,
    "overdraw": 6,
    "lone": 4,
    "disconnect": 8,
}
# What each scenario's tap may end as: a status, and the reasons a failure may give.
ALLOWED = {
    "mismatch": ("failed", {"amount_mismatch"}),
    "overdraw": ("failed", {"insufficient_funds"}),
    "lone": ("failed", {"expired"}),
}
GOOD_REASONS = {"insufficient_funds"}


@dataclass(frozen=True)
class Phone:
    account_id: str
    key: str


def sender_body(amount: int) -> dict:
    return {
        "amount": amount,
        "currency": "USD",
        "device": {"os": "ios", "model": "soak"},
        "tapped_at": datetime.now(UTC).isoformat(),
    }


def receiver_body(payer: Phone, amount: int) -> dict:
    return {
        "sender_account_id": payer.account_id,
        "amount": amount,
        "currency": "USD",
        "device": {"os": "android", "model": "soak"},
        "tapped_at": datetime.now(UTC).isoformat(),
    }


class Workload:
    def __init__(self, client: Client, recorder: Recorder, phones: list[Phone]) -> None:
        self.client = client
        self.recorder = recorder
        self.phones = phones

    def run(self, stop: threading.Event, seed: int) -> None:
        """One client thread: scenarios until stop is set."""
        rng = random.Random(seed)
        names = list(SCENARIOS)
        weights = [SCENARIOS[name] for name in names]
        while not stop.is_set():
            scenario = rng.choices(names, weights)[0]
            try:
                getattr(self, scenario)(rng)
            except Exception as error:  # noqa: BLE001 - a harness error must not end the run
                self.recorder.violation(f"harness error in {scenario}: {error!r}")
                time.sleep(0.5)

    # --- building blocks ------------------------------------------------------------------------

    def _new_tap(self, rng: random.Random, scenario: str, amount: int | None = None):
        payer, payee = rng.sample(self.phones, 2)
        amount = amount or rng.randint(1, 5000)
        tap = Tap(str(uuid.uuid4()), scenario, payer.account_id, payee.account_id, amount)
        self.recorder.tap(tap)
        halves = {
            "sender": (payer, sender_body(amount)),
            "receiver": (payee, receiver_body(payer, amount)),
        }
        return tap, halves

    def _put(self, tap: Tap, side: str, phone: Phone, body: dict, expect=(200, 201)):
        status, data = self.client.call("PUT", f"/api/v1/taps/{tap.key}/{side}", phone.key, body)
        if status is not None and 200 <= status < 300:
            with self.recorder.lock:
                tap.acknowledged.append(side)
                tap.seen.append(data)
        if status not in expect:
            tap.broken = True
            self.recorder.violation(
                f"{tap.scenario} tap {tap.key}: PUT {side} got {status} "
                f"{(data or {}).get('error') if isinstance(data, dict) else data}"
            )
        return status, data

    def _both(self, tap: Tap, halves: dict, rng: random.Random, concurrent: bool = False):
        order = list(halves)
        rng.shuffle(order)
        if not concurrent:
            for side in order:
                self._put(tap, side, *halves[side])
            return
        threads = [
            threading.Thread(target=self._put, args=(tap, side, *halves[side])) for side in order
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # --- scenarios ------------------------------------------------------------------------------

    def good(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "good")
        self._both(tap, halves, rng)

    def good_concurrent(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "good")
        self._both(tap, halves, rng, concurrent=True)

    def replay(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "replay")
        self._both(tap, halves, rng)
        side = rng.choice(list(halves))
        status, data = self._put(tap, side, *halves[side], expect=(200,))
        if status == 200 and (not isinstance(data, dict) or data.get("key") != tap.key):
            self.recorder.violation(f"replay of {tap.key} {side} answered another tap: {data}")

    def duplicate(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "duplicate")
        first = rng.choice(list(halves))
        threads = [
            threading.Thread(target=self._put, args=(tap, first, *halves[first])) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        other = "receiver" if first == "sender" else "sender"
        self._put(tap, other, *halves[other])

    def mismatch(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "mismatch")
        payee, body = halves["receiver"]
        halves["receiver"] = (payee, dict(body, amount=tap.amount + rng.randint(1, 100)))
        self._both(tap, halves, rng)

    def overdraw(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "overdraw", amount=MAX_TRANSFER)
        self._both(tap, halves, rng)

    def lone(self, rng: random.Random) -> None:
        tap, halves = self._new_tap(rng, "lone")
        side = rng.choice(list(halves))
        self._put(tap, side, *halves[side])

    def disconnect(self, rng: random.Random) -> None:
        """A phone hangs up mid-request, then sends the half again properly, as a phone would."""
        tap, halves = self._new_tap(rng, "disconnect")
        side = rng.choice(list(halves))
        phone, body = halves[side]
        self.client.hang_up(f"/api/v1/taps/{tap.key}/{side}", phone.key, body, rng.random() < 0.5)
        self._both(tap, halves, rng)
