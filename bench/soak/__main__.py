"""`python -m bench.soak --duration SECONDS`: see bench/soak/__init__.py."""

import argparse
import random
import signal
import sys
import threading
import time
from collections import Counter

from bench.soak import checks, table
from bench.soak.client import Client
from bench.soak.faults import FaultInjector, schedule
from bench.soak.record import Recorder
from bench.soak.scenarios import Phone, Workload
from bench.soak.stack import Stack

ACCOUNTS = 20
MAX_OPENING = 40_000  # 20 accounts hold less than one largest tap: an overdraw always fails


def open_accounts(client: Client, admin_key: str, rng: random.Random):
    phones, openings = [], {}
    for number in range(ACCOUNTS):
        body = {
            "owner_name": f"Soak {number}",
            "account_type": "checking",
            "bank_name": "Soak Bank",
            "currency": "USD",
            "opening_deposit": rng.randint(0, MAX_OPENING),
        }
        status, data = client.call("POST", "/api/v1/accounts", admin_key, body, kind="admin")
        if status != 201:
            raise RuntimeError(f"opening an account got {status}: {data}")
        account = data["account"]
        phones.append(Phone(account["id"], data["api_key"]))
        openings[account["id"]] = account["balance"]
    return phones, openings


def interrupt(signum, frame) -> None:
    """SIGTERM (and SIGINT, even when the shell started this in the background with it ignored)
    end the run through its finally, which stops everything it started."""
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds of load")
    parser.add_argument("--clients", type=int, default=16, help="client threads")
    parser.add_argument("--ttl", type=int, default=10, help="TAPBANK_TAP_TTL_SECONDS")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    print(f"soak: {args.duration:.0f}s, {args.clients} clients, TTL {args.ttl}s, seed {seed}")
    print("soak: faults at " + ", ".join(f"{t:.0f}s {k}" for t, k in schedule(args.duration)))

    recorder = Recorder()
    stack = Stack(args.ttl)
    stop = threading.Event()
    try:
        stack.start()
        print(f"soak: gunicorn at {stack.base_url}, PgBouncer on {stack.bouncer.port}", flush=True)
        client = Client(stack.base_url, recorder)
        phones, openings = open_accounts(client, stack.admin_key, rng)
        workload = Workload(client, recorder, phones)
        injector = FaultInjector(stack, recorder, list(openings))

        threads = [
            threading.Thread(target=workload.run, args=(stop, rng.randrange(1 << 30)), daemon=True)
            for _ in range(args.clients)
        ]
        faults = threading.Thread(target=injector.run, args=(args.duration, stop), daemon=True)
        started = recorder.started = time.monotonic()
        for thread in [*threads, faults]:
            thread.start()
        # Short sleeps, not one long wait: a signal interrupts a sleep, not every lock wait.
        while time.monotonic() < started + args.duration:
            time.sleep(0.2)
        stop.set()
        for thread in [faults, *threads]:
            joined_by = time.monotonic() + 120
            while thread.is_alive() and time.monotonic() < joined_by:
                thread.join(timeout=0.2)
        print(f"soak: load stopped after {time.monotonic() - started:.0f}s; waiting for outcomes")

        checks.wait_for_outcomes(client, recorder, stack.admin_key, wait=args.ttl + 30)
        outcomes = checks.check_taps(recorder)
        backlog = checks.wait_for_no_set_aside(client, recorder, stack.admin_key, wait=30)
        balances = checks.check_balances(client, recorder, stack.admin_key, openings)
        ledger = checks.check_ledger(stack, recorder)
        requests = checks.classify_requests(recorder)
        acknowledged = [t for t in recorder.taps.values() if t.acknowledged]
        report = {
            "seed": seed,
            "duration_s": args.duration,
            "clients": args.clients,
            "accounts": len(phones),
            "taps_made": len(recorder.taps),
            "taps_acknowledged": len(acknowledged),
            "halves_acknowledged": sum(len(t.acknowledged) for t in acknowledged),
            "scenarios": dict(Counter(t.scenario for t in recorder.taps.values())),
            "outcomes": dict(outcomes),
            "faults": dict(Counter(f.kind for f in recorder.faults)),
            "fault_windows": [
                {
                    "kind": f.kind,
                    "start_s": round(f.started - started, 1),
                    "end_s": round(f.ended - started, 1),
                    "detail": f.detail,
                }
                for f in recorder.faults
            ],
            "disconnects": dict(recorder.disconnects),
            "responses": requests["responses"],
            "latency_ms": requests["latency_ms"],
            "balances": balances,
            "set_aside": (backlog.get("set_aside") or {}).get("count"),
            "ledger_verify": ledger,
            "violations": list(recorder.violations),
        }
        table.show(report)
        table.write(report)
        return 1 if report["violations"] else 0
    finally:
        stop.set()
        print("soak: stopping everything it started", flush=True)
        stack.close()


if __name__ == "__main__":
    sys.exit(main())
