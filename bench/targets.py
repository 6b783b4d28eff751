"""The targets of issues 7 and 18 as rows of the table, each over the figures one run measured."""

from bench.plan import Plan
from bench.report import Row, at_least, at_most, both, is_true, number, times

SETTLE_PAIRS_PER_S = 20_000
SETTLE_VS_PGBENCH = 5.0
GROWTH_RATIO = 0.9  # within 10% of the empty-table figure
RSS_FLAT = 1.2  # the big drain's peak RSS at most 20% over the small drain's
INTAKE_VS_FLOOR = 0.8  # of a bare route plus one durable INSERT and commit
INLINE_P99_MS = 30.0
SCHEDULED_SLACK_MS = 100.0


def rows(plan: Plan, figures: dict) -> list[Row]:
    """The table's rows, in the issue's order."""
    f = figures
    scheduled_bound = plan.reconcile_interval_ms + SCHEDULED_SLACK_MS
    once = {True: "yes", False: "NO", None: "?"}[f.get("workers3_exactly_once")]
    one_worker = number(f.get("settle_pairs_per_s"), "pairs/s (1)")  # targets 2-4 compare to it
    return [
        Row(
            "settle",
            1,
            f"settle {plan.pairs:,} pairs over {plan.accounts:,} accounts, 1 worker",
            number(f.get("settle_pairs_per_s"), "pairs/s"),
            target=f">= {SETTLE_PAIRS_PER_S:,} pairs/s",
            verdict=at_least("settle_pairs_per_s", SETTLE_PAIRS_PER_S),
        ),
        Row(
            "settle_vs_pgbench",
            1,
            f"  against pgbench TPC-B ({plan.pgbench_clients} clients, scale {plan.pgbench_scale})",
            number(f.get("settle_pairs_per_s"), "pairs/s"),
            number(f.get("pgbench_tps"), "tps"),
            times(f.get("settle_vs_pgbench")),
            f">= {SETTLE_VS_PGBENCH:g}x",
            at_least("settle_vs_pgbench", SETTLE_VS_PGBENCH),
        ),
        Row(
            "hot",
            2,
            f"hot account: {plan.hot_pairs:,} pairs all paying one merchant",
            number(f.get("hot_pairs_per_s"), "pairs/s"),
            one_worker,
            times(f.get("hot_vs_settle")),
            ">= 1x",
            at_least("hot_vs_settle", 1.0),
        ),
        Row(
            "workers3",
            3,
            f"3 workers on {plan.pairs:,} pairs (each settled once: {once})",
            number(f.get("workers3_pairs_per_s"), "pairs/s"),
            one_worker,
            times(f.get("workers3_vs_1")),
            ">= 1x, once",
            both(at_least("workers3_vs_1", 1.0), is_true("workers3_exactly_once")),
        ),
        Row(
            "growth",
            4,
            f"settle {plan.pairs:,} pairs after {plan.growth_rows:,} settled",
            number(f.get("growth_pairs_per_s"), "pairs/s"),
            number(f.get("growth_empty_pairs_per_s"), "pairs/s (empty)"),
            times(f.get("growth_ratio")),
            f">= {GROWTH_RATIO:g}x",
            at_least("growth_ratio", GROWTH_RATIO),
        ),
        Row(
            "growth_vs_settle",
            4,
            "  against target 1's empty tables (another database)",
            number(f.get("growth_pairs_per_s"), "pairs/s"),
            one_worker,
            times(f.get("growth_vs_settle")),
            target="reported",
        ),
        Row(
            "memory",
            4,
            f"worker peak RSS draining {plan.growth_rows:,} pairs",
            number(f.get("worker_peak_rss_mb"), "MB", 1),
            number(f.get("small_drain_peak_rss_mb"), f"MB ({plan.pairs:,})", 1),
            times(f.get("rss_vs_small_drain")),
            f"<= {RSS_FLAT:g}x (flat)",
            at_most("rss_vs_small_drain", RSS_FLAT),
        ),
        Row(
            "intake",
            5,
            f"PUT half, gunicorn x{plan.web_concurrency}, wrk {plan.wrk_connections} conns",
            number(f.get("intake_rps"), "req/s"),
            number(f.get("durable_floor_rps"), "req/s floor"),
            times(f.get("intake_vs_durable_floor")),
            f">= {INTAKE_VS_FLOOR:g}x",
            at_least("intake_vs_durable_floor", INTAKE_VS_FLOOR),
        ),
        Row(
            "intake_vs_bare_flask",
            5,
            "  against a bare Flask route",
            number(f.get("intake_rps"), "req/s"),
            number(f.get("bare_flask_rps"), "req/s bare"),
            times(f.get("intake_vs_bare_flask")),
            target="reported",
        ),
        Row(
            "take_half_vs_floor_insert",
            5,
            f"  the server's side alone: pgbench, {plan.wrk_connections} clients, take_half()",
            number(f.get("take_half_statements_per_s"), "/s"),
            number(f.get("floor_insert_statements_per_s"), "/s floor INSERT"),
            times(f.get("take_half_vs_floor_insert")),
            target="reported",
        ),
        Row(
            "intake_latency",
            5,
            "  latency p50 / p99 (floor's, bare's)",
            _pair(f.get("intake_p50_ms"), f.get("intake_p99_ms")),
            _pair(f.get("durable_floor_p50_ms"), f.get("durable_floor_p99_ms"))
            + ", "
            + _pair(f.get("bare_flask_p50_ms"), f.get("bare_flask_p99_ms")),
            target="reported",
        ),
        Row(
            "capacity",
            6,
            "most taps carried with inline settlement (16 clients, back to back)",
            number(f.get("capacity_taps_per_s"), "taps/s"),
            target="reported",
        ),
        Row(
            "inline",
            6,
            f"tap to outcome, inline, {_half(f.get('capacity_taps_per_s'))}: p99 (p50)",
            _with_p50(f.get("inline_p99_ms"), f.get("inline_p50_ms")),
            target=f"<= {INLINE_P99_MS:g} ms",
            verdict=at_most("inline_p99_ms", INLINE_P99_MS),
        ),
        Row(
            "scheduled",
            6,
            f"  workers only, {plan.reconcile_interval_ms} ms interval, "
            f"{_half(f.get('capacity_taps_per_s'))}: p99 (p50)",
            _with_p50(f.get("scheduled_p99_ms"), f.get("scheduled_p50_ms")),
            target=f"<= {scheduled_bound:g} ms",
            verdict=at_most("scheduled_p99_ms", scheduled_bound),
        ),
    ]


def _half(capacity: float | None) -> str:
    return "? taps/s" if capacity is None else f"{max(1, round(capacity / 2)):,} taps/s offered"


def _pair(p50: float | None, p99: float | None) -> str:
    if p50 is None or p99 is None:
        return "error"
    return f"{p50:.1f} / {p99:.1f} ms"


def _with_p50(p99: float | None, p50: float | None) -> str:
    if p50 is None or p99 is None:
        return "error"
    return f"{p99:.1f} ms ({p50:.1f})"
