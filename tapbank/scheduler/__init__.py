"""Reconciler workers: APScheduler jobs, their heartbeats, and the status read from them."""
