"""Where a PUT half's CPU goes, in this one process: `python -m bench.cpu_per_request`.

Each WSGI app is called directly (no HTTP server, no network), one request after another, and
the process's own CPU time per request is reported: the bare Flask route, the durable floor (the
bare route plus one INSERT and commit through psycopg), tapbank's PUT half, and tapbank's PUT half
with its database work replaced by the answer it gave (what Flask, flask-smorest, marshmallow,
the metrics and the logs cost around the half). The database's own CPU is not in these figures;
`make bench` reports it apart (pgbench, take_half() against the floor's INSERT). Not part of
`make bench`: a profile of one process, not a throughput.
"""

import json
import os
import time
import uuid
from collections.abc import Callable

from werkzeug.test import EnvironBuilder

from bench import bare_app, floor_app
from bench.database import BenchServer, bench_config
from bench.intake import prepare_intake_database
from tapbank import create_app
from tapbank.api.taps import routes

WARM_UP = 300
REQUESTS = 3_000
ROUNDS = 3  # the least CPU of the rounds counts: noise only ever adds
BODY = json.dumps(
    {
        "amount": 125,
        "currency": "USD",
        "device": {"os": "bench", "model": "in-process"},
        "tapped_at": "2026-11-26T12:00:00.120Z",
    }
).encode()


def cpu_us_per_request(app: Callable, bearer_key: str) -> float:
    """The least CPU time, in microseconds, that this process spent per PUT half on app."""
    for environ in _environs(WARM_UP, bearer_key):
        _call(app, environ)
    rounds = []
    for _ in range(ROUNDS):
        environs = _environs(REQUESTS, bearer_key)
        started = time.process_time()
        for environ in environs:
            _call(app, environ)
        rounds.append((time.process_time() - started) / REQUESTS * 1e6)
    return min(rounds)


def _environs(count: int, bearer_key: str) -> list[dict]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {bearer_key}"}
    return [
        EnvironBuilder(
            path=f"/api/v1/taps/{uuid.uuid4()}/sender", method="PUT", data=BODY, headers=headers
        ).get_environ()
        for _ in range(count)
    ]


def _call(app: Callable, environ: dict) -> None:
    statuses = []
    answer = app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(answer)
    getattr(answer, "close", lambda: None)()
    if not statuses[0].startswith(("200", "201")):
        raise RuntimeError(f"the route answered {statuses[0]}")


def without_the_database(tapbank_app, bearer_key: str):
    """tapbank's app with the half's database work (take it, commit, read it) replaced by the
    answer it gave for one real half: everything around the database stays."""
    taking = routes.take_and_present
    answers = []

    def recording(submission, key_digest=None):
        answers.append(taking(submission, key_digest))
        return answers[-1]

    routes.take_and_present = recording
    _call(tapbank_app, _environs(1, bearer_key)[0])
    routes.take_and_present = lambda submission, key_digest=None: answers[0]
    return tapbank_app


def main() -> None:
    server = BenchServer()
    server.start()
    try:
        url = server.create_database("cpu", template=server.migrated_template())
        key = prepare_intake_database(server, url)
        tapbank_app = create_app(bench_config(url, server.admin_key))
        os.environ["DATABASE_URL"] = url  # where the floor's app connects, as under gunicorn
        figures = {
            "bare Flask route": cpu_us_per_request(bare_app.app, key),
            "durable floor (bare route + INSERT + commit)": cpu_us_per_request(floor_app.app, key),
            "tapbank PUT half": cpu_us_per_request(tapbank_app, key),
        }
        figures["tapbank PUT half, its database work replaced by its answer"] = cpu_us_per_request(
            without_the_database(tapbank_app, key), key
        )
    finally:
        server.close()
    for label, cpu in figures.items():
        print(f"{cpu:8.1f} us CPU per request  {label}")


if __name__ == "__main__":
    main()
