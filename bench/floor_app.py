"""The intake floor: a bare Flask PUT route plus one durable INSERT through the driver and a
commit, served by the same gunicorn as tapbank. No durable write can answer faster than this.

`gunicorn -c gunicorn.conf.py bench.floor_app:app` with DATABASE_URL set; the table is made by
bench/intake.py. Each gunicorn thread keeps one psycopg connection, as tapbank's pool does.
"""

import json
import os
import threading

import psycopg
from flask import Flask, request

FLOOR_TABLE = "CREATE TABLE durable_floor (key uuid PRIMARY KEY, half jsonb NOT NULL)"
INSERT = "INSERT INTO durable_floor (key, half) VALUES (%s, %s)"

app = Flask(__name__)
_local = threading.local()


def _connection() -> psycopg.Connection:
    if getattr(_local, "conn", None) is None:
        # The SQLAlchemy URL less its driver: importing SQLAlchemy would slow every start.
        url = os.environ["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://", 1)
        _local.conn = psycopg.connect(url)
    return _local.conn


@app.put("/api/v1/taps/<uuid:key>/sender")
def put_sender_half(key):
    """Parse the half, INSERT it and commit, and echo it back as 201."""
    half = request.get_json()
    conn = _connection()
    conn.execute(INSERT, (key, json.dumps(half)))
    conn.commit()
    return {"key": str(key), "status": "awaiting_receiver", "sender": half}, 201
