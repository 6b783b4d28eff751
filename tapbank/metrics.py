"""Prometheus metrics: HTTP by route and status (the exporter), and the domain's own counters.

Under gunicorn, PROMETHEUS_MULTIPROC_DIR makes every worker write its samples to files that
/metrics sums; without it, one process serves its own. TAPBANK_METRICS_PORT moves them off the
API's port onto one of their own.
"""

import os

from flask import Flask
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_flask_exporter import PrometheusMetrics
from prometheus_flask_exporter.multiprocess import (
    GunicornInternalPrometheusMetrics,
    GunicornPrometheusMetrics,
)

HALVES_RECEIVED = Counter(
    "tapbank_halves_received_total", "Halves taken in, by side and outcome.", ["side", "outcome"]
)
TRANSFERS_SETTLED = Counter("tapbank_transfers_settled_total", "Taps settled as transfers.")
TAP_FAILURES = Counter("tapbank_tap_failures_total", "Failed taps, by reason.", ["reason"])
BATCH_SECONDS = Histogram(
    "tapbank_reconcile_batch_seconds",
    "How long one settlement batch took.",
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_PAIRS = Histogram(
    "tapbank_reconcile_batch_pairs",
    "Pairs one settlement batch took.",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000),
)
QUEUE_ENTRIES_MENDED = Counter(
    "tapbank_queue_entries_mended_total",
    "Queue entries found disagreeing with their tap, and mended.",
)
PAIRS_SET_ASIDE = Counter(
    "tapbank_pairs_set_aside_total",
    "Times a matched pair was set aside: it failed alone, or an account of it was held.",
    ["cause"],
)
SET_ASIDE = Gauge(
    "tapbank_set_aside_pairs",
    "Matched pairs set aside, waiting to be retried, as a worker last saw them.",
    multiprocess_mode="livemax",
)
BACKLOG = Gauge(
    "tapbank_backlog_matched",
    "Matched pairs waiting for the reconciler, as a worker last saw them.",
    multiprocess_mode="livemax",
)


class _DefaultRegistry:
    """Exposes the process-wide registry (domain metrics) through an app's own registry."""

    def collect(self):
        yield from REGISTRY.collect()


def init_metrics(app: Flask) -> None:
    """Count every request, and serve /metrics on the API's port, summed over gunicorn workers
    when PROMETHEUS_MULTIPROC_DIR is set; with TAPBANK_METRICS_PORT set, not on the API's port
    at all: gunicorn's master serves them there (gunicorn_hooks.serve_metrics_port)."""
    defaults = {"group_by": "url_rule", "defaults_prefix": "tapbank"}
    own_port = bool(app.config["TAPBANK_METRICS_PORT"])
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        kind = GunicornPrometheusMetrics if own_port else GunicornInternalPrometheusMetrics
        metrics = kind(app, **defaults)
    else:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_DefaultRegistry())
        path = None if own_port else "/metrics"
        metrics = PrometheusMetrics(app, registry=registry, path=path, **defaults)
    app.extensions["prometheus"] = metrics


def record_batch(result) -> None:
    """Count one committed settlement batch's outcomes (a BatchResult); one that took no pair
    was no batch, and is not observed."""
    if not result.taken:
        return
    TRANSFERS_SETTLED.inc(result.settled)
    for reason, count in result.reasons.items():
        TAP_FAILURES.labels(reason=reason).inc(count)
    BATCH_PAIRS.observe(result.taken)
    BATCH_SECONDS.observe(result.seconds)


def record_expiries(count: int) -> None:
    """Count lone halves failed as expired, in one committed batch."""
    TAP_FAILURES.labels(reason="expired").inc(count)
