"""The intake baseline: a bare Flask app with one PUT JSON route, served by the same gunicorn.

`gunicorn -c gunicorn.conf.py bench.bare_app:app`. The route has tapbank's path, so one wrk script
drives both; it parses the JSON body and answers JSON, and does nothing else.
"""

from flask import Flask, request

app = Flask(__name__)


@app.put("/api/v1/taps/<uuid:key>/sender")
def put_sender_half(key):
    """Parse the half and echo it back as the tap, as 201."""
    half = request.get_json()
    return {"key": str(key), "status": "awaiting_receiver", "sender": half}, 201
