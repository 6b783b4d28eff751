"""The settlement baseline: pgbench's TPC-B-like script on the same server, in the same run; and
pgbench running one statement, for the server's side of intake alone.

pgbench is the one shipped with the embedded PostgreSQL. The scale is at least the number of
clients, so its clients do not all queue on one branch row; the figure is its tps without the
initial connection time.
"""

import re
import subprocess
import tempfile
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from bench.database import BenchServer, maintain

TPS_LINE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.MULTILINE)


@dataclass(frozen=True)
class PgbenchResult:
    """pgbench's transactions per second, and how it was run."""

    tps: float
    clients: int
    scale: int
    seconds: int


def run_pgbench(server: BenchServer, scale: int, clients: int, seconds: int) -> PgbenchResult:
    """Initialise a pgbench database at scale, run TPC-B for seconds, drop the database."""
    url = server.create_database("pgbench")
    name = make_url(url).database
    connection = ["-h", server.socket_dir, "-U", "postgres"]
    try:
        _pgbench(
            server,
            *connection,
            "--initialize",
            "--init-steps=dtGvp",
            "--quiet",
            f"--scale={scale}",
            name,
        )
        maintain(url, "CHECKPOINT")
        output = _pgbench(
            server, *connection, f"--client={clients}", "--jobs=2", f"--time={seconds}", name
        )
    finally:
        server.drop_database(url)
    found = TPS_LINE.search(output)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps line:\n{output}")
    return PgbenchResult(float(found.group(1)), clients, scale, seconds)


def statements_per_s(
    server: BenchServer, url: str, statement: str, clients: int, seconds: int
) -> float:
    """How many times per second clients connections run statement, each in autocommit, on the
    database at url: the server's side of a request alone, without HTTP or Python."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as script:
        script.write(statement + ";\n")
        script.flush()
        output = _pgbench(
            server,
            "-h",
            server.socket_dir,
            "-U",
            "postgres",
            "--no-vacuum",
            f"--file={script.name}",
            f"--client={clients}",
            "--jobs=2",
            f"--time={seconds}",
            make_url(url).database,
        )
    found = TPS_LINE.search(output)
    if found is None:
        raise RuntimeError(f"pgbench printed no tps line:\n{output}")
    return float(found.group(1))


def _pgbench(server: BenchServer, *args: str) -> str:
    completed = subprocess.run(
        [str(server.bin_dir / "pgbench"), *args], capture_output=True, text=True, timeout=600
    )
    if completed.returncode != 0:
        raise RuntimeError(f"pgbench {' '.join(args)} failed:\n{completed.stderr[-4000:]}")
    return completed.stdout + completed.stderr
