"""The soak run (`make soak DURATION=600`, `python -m bench.soak --duration SECONDS`).

The bank workload for as long as asked, through a real PgBouncer, with faults on a schedule, then
the checks that nothing was lost, nothing was made and no answer was a 500. One module per job:
stack (the processes), record (what the clients saw), client (HTTP with retries), scenarios (the
taps), faults (the schedule), checks (after the load), table (the report).
"""
