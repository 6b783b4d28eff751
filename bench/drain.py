"""A drain worker: `python -m bench.drain` settles the backlog it finds, then reports.

The bench starts one or more of these on a seeded backlog. Each builds the app and connects, says
`ready` on stdout and waits for a line on stdin, so that every worker starts on the same signal
and none is timed while importing. It then runs the reconcile job (the scheduler workers' own)
until a run takes nothing, and prints one JSON line: what it settled, when it finished, and its
peak resident memory.
"""

import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from sqlalchemy import text

from bench.database import ROOT
from bench.processes import BIN, stop_process

READY = "ready"


@dataclass(frozen=True)
class DrainResult:
    """What a set of workers did to one backlog, timed from the go signal to the last finish."""

    workers: int
    settled: int
    failed: int
    seconds: float
    peak_rss_mb: float  # the largest of the workers'
    batch_size: int

    @property
    def pairs_per_s(self) -> float:
        """Settled pairs per second of the drain."""
        return self.settled / self.seconds if self.seconds > 0 else 0.0


def drain(env: dict[str, str], workers: int = 1, timeout: float = 3600.0) -> DrainResult:
    """Start workers drain processes on env's database, release them together, collect reports."""
    logs = [tempfile.TemporaryFile() for _ in range(workers)]
    processes: list[subprocess.Popen] = []
    try:
        for log in logs:
            processes.append(
                subprocess.Popen(
                    [str(BIN / "python"), "-m", "bench.drain"],
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                )
            )
        for process, log in zip(processes, logs, strict=True):
            _expect_line(process, log, READY)
        # CLOCK_MONOTONIC is one clock for every process on the host: comparable with theirs.
        started = time.monotonic()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.close()
        reports = []
        for process, log in zip(processes, logs, strict=True):
            reports.append(json.loads(_expect_line(process, log, "{")))
            process.wait(timeout=timeout)
    finally:
        for process in processes:
            stop_process(process)
        for log in logs:
            log.close()
    return DrainResult(
        workers=workers,
        settled=sum(report["settled"] for report in reports),
        failed=sum(report["failed"] for report in reports),
        seconds=max(report["finished"] for report in reports) - started,
        peak_rss_mb=max(report["peak_rss_mb"] for report in reports),
        batch_size=reports[0]["batch_size"],
    )


def _expect_line(process: subprocess.Popen, log, prefix: str) -> str:
    """The next line the worker prints; it must start with prefix."""
    line = process.stdout.readline()
    if not line.startswith(prefix):
        process.wait(timeout=10)
        log.seek(0)
        printed = log.read().decode(errors="replace")[-4000:]
        raise RuntimeError(f"drain worker said {line!r}, exit {process.returncode}:\n{printed}")
    return line


def peak_rss_mb() -> float:
    """This process's own peak resident memory, from the kernel's VmHWM.

    Not getrusage's ru_maxrss: at exec, Linux carries into it the high-water mark of the memory
    being replaced, which for a child that subprocess starts (by vfork) is its parent's. The
    bench's own size, about 110 MB by the growth step, was read as the worker's.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def main() -> None:
    """The worker side: build the app, wait for go, reconcile until empty, report."""
    from tapbank import create_app
    from tapbank.extensions import db
    from tapbank.scheduler import jobs

    app = create_app()
    with app.app_context():
        db.session.execute(text("SELECT 1"))  # connect before the clock starts
        db.session.commit()
        print(READY, flush=True)
        sys.stdin.readline()
        started = time.monotonic()
        settled = failed = 0
        while True:
            totals = jobs.reconcile()
            settled += totals.settled
            failed += totals.failed
            if totals.batches == 0:
                break
        finished = time.monotonic()
        batch_size = app.config["TAPBANK_RECONCILE_BATCH"]
        db.session.remove()
    report = {
        "settled": settled,
        "failed": failed,
        "started": started,
        "finished": finished,
        "peak_rss_mb": peak_rss_mb(),
        "batch_size": batch_size,
    }
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
