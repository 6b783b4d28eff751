"""Target 5: PUT halves through gunicorn on loopback, against two baselines: the floor (a bare
Flask route plus one durable INSERT through the driver and a commit, bench/floor_app.py) and a
bare Flask JSON route (bench/bare_app.py).

The three apps are served by `gunicorn -c gunicorn.conf.py` with the same workers, one after the
other, and driven by the same wrk script (bench/put_half.lua: a fresh tap key per request, an
account's bearer key) with the same connections and duration, after a short warm-up of each.
"""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.database import BenchServer, app_context, maintain
from bench.floor_app import FLOOR_TABLE
from bench.pgbench import statements_per_s
from bench.processes import Gunicorn, service_env
from tapbank.extensions import db
from tapbank.keys import key_digest
from tapbank.ledger.accounts import open_account
from tapbank.models import AccountType

SCRIPT = Path(__file__).resolve().parent / "put_half.lua"
WARM_UP_SECONDS = 1
WRK_THREADS = 2


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run saw: successful requests per second and their latency."""

    requests: int
    seconds: float
    errors: int  # non-2xx answers, connection errors and timeouts
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        """Requests per second that got a 2xx answer."""
        return (self.requests - self.errors) / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class ServerSide:
    """The database's side alone, in pgbench with as many clients as wrk's connections: a half's
    statement (take_half()) and the floor's INSERT, each per second."""

    take_half_per_s: float
    floor_insert_per_s: float


@dataclass(frozen=True)
class IntakeResult:
    """Target 5's three wrk runs, the server's side alone, and how they were set up."""

    tapbank: WrkResult
    durable_floor: WrkResult
    bare_flask: WrkResult
    server_side: ServerSide
    connections: int
    workers: int


def wrk_path() -> str:
    """Where wrk is installed; `make bench` installs it with apt-get when it is missing."""
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk is not installed: apt-get install wrk (make bench does this)")
    return found


def run_wrk(url: str, bearer_key: str, seconds: int, connections: int) -> WrkResult:
    """PUT sender halves at url for seconds over connections keep-alive connections."""
    command = [
        wrk_path(),
        f"--threads={WRK_THREADS}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
        "--",
        bearer_key,
    ]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("bench-result ")]
    if completed.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed:\n{completed.stdout[-2000:]}\n{completed.stderr[-2000:]}")
    counts = json.loads(lines[-1].removeprefix("bench-result "))
    errors = sum(counts[name] for name in counts if name.endswith("errors") or name == "timeouts")
    return WrkResult(
        requests=counts["requests"],
        seconds=counts["duration_us"] / 1e6,
        errors=errors,
        p50_ms=counts["p50_us"] / 1000,
        p99_ms=counts["p99_us"] / 1000,
    )


def prepare_intake_database(server: BenchServer, url: str) -> str:
    """Give the database at url the floor's table and one account; returns the account's key."""
    maintain(url, FLOOR_TABLE)
    with app_context(url, server.admin_key):
        _, key = open_account(
            db.session,
            owner_name="bench intake",
            account_type=AccountType.CHECKING,
            bank_name="benchbank",
            currency="USD",
        )
        db.session.commit()
    return key


def measure_intake(
    server: BenchServer, template: str, seconds: int, connections: int, workers: int
) -> IntakeResult:
    """wrk against tapbank's sender-half route, then the floor's, then the bare Flask route."""
    url = server.create_database("intake", template=template)
    try:
        key = prepare_intake_database(server, url)
        env = service_env(url, server.admin_key, TAPBANK_SCHEDULER="off")
        tapbank = _serve_and_measure("wsgi:app", env, key, seconds, connections, workers)
        floor = _serve_and_measure("bench.floor_app:app", env, key, seconds, connections, workers)
        bare = _serve_and_measure("bench.bare_app:app", env, key, seconds, connections, workers)
        server_side = ServerSide(
            statements_per_s(server, url, _take_half_statement(key), connections, seconds),
            statements_per_s(server, url, FLOOR_INSERT_STATEMENT, connections, seconds),
        )
    finally:
        server.drop_database(url)
    return IntakeResult(tapbank, floor, bare, server_side, connections, workers)


# What the PUT half and the floor's route send, a fresh key each time, as pgbench runs them.
FLOOR_INSERT_STATEMENT = (
    "INSERT INTO durable_floor (key, half) VALUES (gen_random_uuid(), "
    '\'{"amount": 125, "currency": "USD", "device": {"os": "bench", '
    '"model": "wrk"}, "tapped_at": "2026-11-26T12:00:00.120Z"}\')'
)


def _take_half_statement(bearer_key: str) -> str:
    return (
        f"SELECT * FROM take_half('{key_digest(bearer_key)}', NULL, gen_random_uuid(), "
        "'sender', NULL, NULL, 125, 'USD', 'bench', 'wrk', '2026-11-26T12:00:00.120Z')"
    )


def _serve_and_measure(
    app_path: str, env: dict, key: str, seconds: int, connections: int, workers: int
) -> WrkResult:
    with Gunicorn(app_path, env, workers) as gunicorn:
        run_wrk(gunicorn.url, key, WARM_UP_SECONDS, connections)
        return run_wrk(gunicorn.url, key, seconds, connections)
