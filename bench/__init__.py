"""`make bench`: tapbank measured beside its baselines in one run, on the embedded PostgreSQL.

`python -m bench [--quick]` runs every measurement of issue 7 (settlement against pgbench, a hot
account, three workers, growth and memory, intake against a bare Flask route, tap to outcome),
prints one table with the ratios and each target's PASS/MISS, and writes the figures to
bench/results/latest.json. Targets are reported, never asserted.
"""
