"""`python -m bench [--quick]`: every measurement of issues 7 and 18 in one run, then the table.

The steps run one after the other on one embedded PostgreSQL server, each in its own fresh
database: pgbench, settlement (spread, hot, three workers), intake (against the durable floor and
a bare route), tap to outcome at half the measured capacity, and last the growth drain, the
heaviest. pgbench and the three settlement steps, whose figures are compared
with each other, run in interleaved rounds and the best of each counts: this machine's speed
drifts by up to a third from one minute to the next, which would otherwise decide those ratios.
A step that fails is reported as ERROR with its reason and the run goes on; the exit status is
non-zero only then, never for a missed target.
"""

import argparse
import os
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime

from bench import intake, latency, pgbench, report, settlement, targets
from bench.database import ROOT, BenchServer
from bench.plan import Plan, make_plan

KEYS = [
    "settle_pairs_per_s",
    "pgbench_tps",
    "settle_vs_pgbench",
    "hot_pairs_per_s",
    "hot_vs_settle",
    "workers3_pairs_per_s",
    "workers3_vs_1",
    "workers3_exactly_once",
    "growth_empty_pairs_per_s",
    "growth_pairs_per_s",
    "growth_ratio",
    "growth_vs_settle",
    "big_drain_pairs_per_s",
    "worker_peak_rss_mb",
    "small_drain_peak_rss_mb",
    "rss_vs_small_drain",
    "intake_rps",
    "intake_p50_ms",
    "intake_p99_ms",
    "durable_floor_rps",
    "durable_floor_p50_ms",
    "durable_floor_p99_ms",
    "intake_vs_durable_floor",
    "bare_flask_rps",
    "bare_flask_p50_ms",
    "bare_flask_p99_ms",
    "intake_vs_bare_flask",
    "take_half_statements_per_s",
    "floor_insert_statements_per_s",
    "take_half_vs_floor_insert",
    "inline_p50_ms",
    "inline_p99_ms",
    "scheduled_p50_ms",
    "scheduled_p99_ms",
    "capacity_taps_per_s",
    "inline_taps_per_s",
    "scheduled_taps_per_s",
    "reconcile_batch",
]
RATIOS = {
    "settle_vs_pgbench": ("settle_pairs_per_s", "pgbench_tps"),
    "hot_vs_settle": ("hot_pairs_per_s", "settle_pairs_per_s"),
    "workers3_vs_1": ("workers3_pairs_per_s", "settle_pairs_per_s"),
    "growth_ratio": ("growth_pairs_per_s", "growth_empty_pairs_per_s"),
    "growth_vs_settle": ("growth_pairs_per_s", "settle_pairs_per_s"),
    "rss_vs_small_drain": ("worker_peak_rss_mb", "small_drain_peak_rss_mb"),
    "intake_vs_durable_floor": ("intake_rps", "durable_floor_rps"),
    "intake_vs_bare_flask": ("intake_rps", "bare_flask_rps"),
    "take_half_vs_floor_insert": ("take_half_statements_per_s", "floor_insert_statements_per_s"),
}

# The steps in the order they run: the short ones first, the heavy growth drain last.
STEPS = {
    "pgbench": ("pgbench", "pgbench"),
    "settle": ("settlement, 1 worker", "settle_spread"),
    "hot": ("hot account", "settle_hot"),
    "workers": ("settlement, 3 workers", "settle_three_workers"),
    "intake": ("intake", "intake"),
    "latency": ("tap to outcome", "tap_to_outcome"),
    "growth": ("growth and memory", "settle_after_growth"),
}
# Run in rounds, interleaved, each keeping its best figure.
ROUNDS = ("pgbench", "settle", "hot", "workers")


class Run:
    """One bench run: its plan, its server, the figures and notes it gathers."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.server = BenchServer()
        self.template = ""
        self.figures: dict = dict.fromkeys(KEYS)
        self.notes: list[str] = []
        self.rounds: dict[str, list[float]] = {}
        self.errors = 0
        self.began = time.monotonic()

    def say(self, message: str) -> None:
        """A progress line on stderr, with the seconds since the run began."""
        print(f"[{time.monotonic() - self.began:6.1f}s] {message}", file=sys.stderr, flush=True)

    def step(self, name: str, measure) -> None:
        """Run one measurement; a failure becomes a note and ERROR rows, and the run goes on."""
        self.say(f"{name} ...")
        try:
            measure()
        except Exception as error:  # a broken step must not hide the others' figures
            self.errors += 1
            traceback.print_exc(file=sys.stderr)
            first_line = (str(error).splitlines() or [""])[0][:300]
            self.notes.append(f"{name} could not be measured: {type(error).__name__}: {first_line}")

    def keep_best(self, key: str, value: float) -> None:
        """Keep the best figure of the rounds under key, and every round's in self.rounds."""
        self.rounds.setdefault(key, []).append(round(value, 1))
        best = self.figures.get(key)
        self.figures[key] = value if best is None else max(best, value)

    def note_drained(self, name: str, drained: settlement.Drained) -> None:
        """Carry a drain's findings (unsettled or failed pairs) into the notes."""
        self.notes.extend(f"{name}: {note}" for note in drained.notes)
        if drained.result.failed:
            self.notes.append(f"{name}: {drained.result.failed:,} pairs failed instead of settling")

    def pgbench(self) -> None:
        """The baseline of target 1: pgbench TPC-B on the same server."""
        plan = self.plan
        result = pgbench.run_pgbench(
            self.server, plan.pgbench_scale, plan.pgbench_clients, plan.pgbench_seconds
        )
        self.keep_best("pgbench_tps", result.tps)

    def settle_spread(self) -> None:
        """Target 1: one worker drains pairs spread over the accounts."""
        drained = settlement.settle_spread(
            self.server, self.template, self.plan.pairs, self.plan.accounts
        )
        self.note_drained("settlement", drained)
        self.keep_best("settle_pairs_per_s", drained.result.pairs_per_s)
        # The smaller of the rounds' peaks: target 4's memory ratio divides by it.
        peaks = [self.figures.get("small_drain_peak_rss_mb"), drained.result.peak_rss_mb]
        self.figures["small_drain_peak_rss_mb"] = min(peak for peak in peaks if peak is not None)
        self.figures["reconcile_batch"] = drained.result.batch_size

    def settle_hot(self) -> None:
        """Target 2: one worker drains pairs that all pay one merchant."""
        drained = settlement.settle_hot(
            self.server, self.template, self.plan.hot_pairs, self.plan.accounts
        )
        self.note_drained("hot account", drained)
        self.keep_best("hot_pairs_per_s", drained.result.pairs_per_s)

    def settle_three_workers(self) -> None:
        """Target 3: three workers drain the backlog of target 1 together."""
        drained = settlement.settle_spread(
            self.server, self.template, self.plan.pairs, self.plan.accounts, workers=3
        )
        self.note_drained("3 workers", drained)
        self.keep_best("workers3_pairs_per_s", drained.result.pairs_per_s)
        once = self.figures.get("workers3_exactly_once") is not False
        self.figures["workers3_exactly_once"] = once and not drained.notes

    def settle_after_growth(self) -> None:
        """Target 4: the big drain's memory, then settlement with its rows there."""
        plan = self.plan
        growth = settlement.settle_after_growth(
            self.server, self.template, plan.growth_rows, plan.pairs, plan.accounts
        )
        self.note_drained("growth, empty tables", growth.empty)
        self.note_drained(f"{plan.growth_rows:,}-pair drain", growth.big)
        self.note_drained("growth", growth.after)
        self.figures["growth_empty_pairs_per_s"] = growth.empty.result.pairs_per_s
        self.figures["big_drain_pairs_per_s"] = growth.big.result.pairs_per_s
        self.figures["worker_peak_rss_mb"] = growth.big.result.peak_rss_mb
        self.figures["growth_pairs_per_s"] = growth.after.result.pairs_per_s

    def intake(self) -> None:
        """Target 5: tapbank's sender-half PUT against the durable floor and a bare route."""
        plan = self.plan
        result = intake.measure_intake(
            self.server, self.template, plan.wrk_seconds, plan.wrk_connections, plan.web_concurrency
        )
        for prefix, measured in (
            ("intake", result.tapbank),
            ("durable_floor", result.durable_floor),
            ("bare_flask", result.bare_flask),
        ):
            self.figures[f"{prefix}_rps"] = measured.rps
            self.figures[f"{prefix}_p50_ms"] = measured.p50_ms
            self.figures[f"{prefix}_p99_ms"] = measured.p99_ms
            if measured.errors:
                self.notes.append(
                    f"{prefix}: {measured.errors:,} of {measured.requests:,} requests failed "
                    "(not counted in req/s)"
                )
        self.figures["take_half_statements_per_s"] = result.server_side.take_half_per_s
        self.figures["floor_insert_statements_per_s"] = result.server_side.floor_insert_per_s

    def tap_to_outcome(self) -> None:
        """Target 6: tap to outcome at half the inline capacity, inline and with the workers."""
        plan = self.plan
        measured = latency.measure_tap_to_outcome(
            self.server,
            self.template,
            plan.latency_seconds,
            plan.reconcile_interval_ms,
            plan.web_concurrency,
        )
        self.figures["capacity_taps_per_s"] = measured.capacity_taps_per_s
        for mode, result in measured.modes.items():
            self.figures[f"{mode}_p50_ms"] = result.percentile(50)
            self.figures[f"{mode}_p99_ms"] = result.percentile(99)
            unsettled = {k: v for k, v in result.outcomes.items() if k != "settled"}
            if unsettled:
                self.notes.append(f"tap to outcome, {mode}: not settled: {unsettled}")
            self.figures[f"{mode}_taps_per_s"] = result.taps_per_s
            lag = latency.percentile(result.lags_ms, 99) or 0.0
            if lag > 10:
                self.notes.append(
                    f"tap to outcome, {mode}: taps started up to {lag:,.0f} ms behind schedule "
                    f"(p99) with every client thread waiting on the server; "
                    f"{result.taps_per_s:,.0f} taps/s were carried, not {result.rate}"
                )

    def derive_ratios(self) -> None:
        """Each ratio of two figures, or None when either is missing."""
        for key, (numerator, denominator) in RATIOS.items():
            top, bottom = self.figures.get(numerator), self.figures.get(denominator)
            self.figures[key] = top / bottom if top is not None and bottom else None


def durable(settings: dict[str, str]) -> bool:
    """Commits survive a crash: fsync on and synchronous_commit not off."""
    return settings.get("fsync") == "on" and settings.get("synchronous_commit") != "off"


def git_commit() -> str:
    """The commit measured, marked when the working tree has changes."""
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=ROOT).returncode != 0
    return completed.stdout.strip() + ("+changes" if dirty else "")


def main(argv: list[str] | None = None) -> int:
    """Run every measurement, print the table, write bench/results/latest.json."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of every size")
    parser.add_argument(
        "--only", action="append", choices=STEPS, help="run just this step (repeatable)"
    )
    args = parser.parse_args(argv)
    run = Run(make_plan(args.quick))
    run.say("starting the embedded PostgreSQL under instance/bench-postgres")
    try:
        run.server.start()
        settings = run.server.settings()
        if not durable(settings):
            sys.exit(f"refusing to measure: commits are not durable ({settings})")
        run.say("building the schema by the migrations")
        run.template = run.server.migrated_template()
        chosen = [name for name in STEPS if not args.only or name in args.only]
        for number in range(1, run.plan.rounds + 1):
            for name in (name for name in chosen if name in ROUNDS):
                title, method = STEPS[name]
                run.step(f"{title} (round {number} of {run.plan.rounds})", getattr(run, method))
        for name in (name for name in chosen if name not in ROUNDS):
            title, method = STEPS[name]
            run.step(title, getattr(run, method))
    finally:
        run.say("dropping the bench databases")
        run.server.close()
    run.derive_ratios()
    if run.plan.rounds > 1 and run.rounds:
        runs = "; ".join(f"{key} {values}" for key, values in run.rounds.items())
        run.notes.append(f"best of {run.plan.rounds} interleaved rounds counts: {runs}")

    plan = run.plan
    rows = targets.rows(plan, run.figures)
    verdicts = report.judge(rows, run.figures)
    seconds = time.monotonic() - run.began
    meta = {
        "quick": plan.quick,
        "steps": args.only or list(STEPS),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(seconds, 1),
        "git": git_commit(),
        "cores": os.cpu_count(),
        "postgres": settings,
        "plan": plan.__dict__,
        "rounds": run.rounds,
    }
    path = report.write_json(run.figures, verdicts, meta, run.notes, partial=bool(args.only))
    title = [
        f"tapbank bench{' QUICK (a tenth of the sizes)' if plan.quick else ''}, "
        f"{meta['finished_at']}, git {meta['git']}, {seconds:.0f}s",
        f"PostgreSQL {settings['server_version']} embedded: fsync={settings['fsync']}, "
        f"synchronous_commit={settings['synchronous_commit']}, "
        f"full_page_writes={settings['full_page_writes']}; {os.cpu_count()} cores; "
        f"reconcile batch {run.figures.get('reconcile_batch') or '?'}",
    ]
    print(report.table(title, rows, verdicts, run.notes))
    print(f"\nfigures written to {path.relative_to(ROOT)}")
    return 1 if run.errors else 0


if __name__ == "__main__":
    sys.exit(main())
