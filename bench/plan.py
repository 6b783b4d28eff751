"""How big each measurement is: the issues' sizes, or a tenth of them for QUICK=1."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """The sizes and durations of one run."""

    quick: bool
    rounds: int  # pgbench and targets 1-3, interleaved; the best of the rounds counts
    pairs: int  # target 1 and 3: matched pairs spread over `accounts`
    accounts: int
    hot_pairs: int  # target 2: pairs that all pay one merchant account
    growth_rows: int  # target 4: settled transfers already in the tables; also the drain size
    pgbench_scale: int
    pgbench_clients: int
    pgbench_seconds: int
    wrk_connections: int
    wrk_seconds: int
    latency_seconds: int  # target 6: the capacity's measurement, then each mode's, at half of it
    reconcile_interval_ms: int
    web_concurrency: int


def make_plan(quick: bool) -> Plan:
    """The issue's sizes; QUICK divides every count and duration by ten (the shapes stay)."""
    tenth = 10 if quick else 1
    cores = os.cpu_count() or 1
    return Plan(
        quick=quick,
        rounds=1 if quick else 2,
        pairs=100_000 // tenth,
        accounts=1_000,
        hot_pairs=20_000 // tenth,
        growth_rows=1_000_000 // tenth,
        pgbench_scale=10,
        pgbench_clients=8,
        pgbench_seconds=max(2, 20 // tenth),
        wrk_connections=16,
        wrk_seconds=max(2, 20 // tenth),
        latency_seconds=max(2, 20 // tenth),
        reconcile_interval_ms=500,
        web_concurrency=2 * cores + 1,  # gunicorn.conf.py's own default, stated explicitly
    )
