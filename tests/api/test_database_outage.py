"""While PostgreSQL is down every route that needs it answers 503 database_unavailable, and the
API recovers by itself once it is back: a real server stopped and started under the app."""

import uuid

import pytest
import requests

from tapbank import create_app
from tapbank.extensions import db
from tests.api.test_errors import assert_error_shape
from tests.conftest import ADMIN_KEY, make_config
from tests.factories import Factory
from tests.live_server import LiveServer
from tests.scheduler.workers import wait_for

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
# A restarted server takes a moment to accept connections; the bound is generous on purpose.
RECOVERY_SECONDS = 30


def routes_needing_the_database(factory: Factory, payer, key) -> list[tuple]:
    """(method, path, headers, body) of every kind of route that needs the database."""
    return [
        ("PUT", f"/api/v1/taps/{uuid.uuid4()}/sender", payer.headers, factory.sender_body()),
        ("GET", f"/api/v1/taps/{key}", payer.headers, None),
        ("GET", f"/api/v1/accounts/{payer.id}", payer.headers, None),
        ("POST", "/api/v1/accounts", ADMIN, {"owner_name": "Carol"}),
        ("GET", "/api/v1/scheduler", ADMIN, None),
        # An unknown key is counted against its address, in the database.
        ("GET", f"/api/v1/accounts/{payer.id}", {"Authorization": "Bearer tbk_unknown"}, None),
    ]


@pytest.fixture
def outage_app(outage_server):
    app = create_app(make_config(outage_server.url))
    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_route_needing_the_database_is_unavailable_until_it_returns(
    outage_server, outage_app
):
    client = outage_app.test_client()
    factory = Factory(outage_app, client, ADMIN)
    payer = factory.account("Ada", deposit=10_000)
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    routes = routes_needing_the_database(factory, payer, key)

    outage_server.stop()
    try:
        for method, path, headers, body in routes:
            response = client.open(path, method=method, headers=headers, json=body)
            answer = assert_error_shape(response, 503)
            assert answer["error"] == "database_unavailable", (method, path)
            assert answer["request_id"] == response.headers["X-Request-ID"]
            assert int(response.headers["Retry-After"]) >= 1
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert assert_error_shape(ready, 503)["error"] == "database_unavailable"
    finally:
        outage_server.start()

    wait_for(
        lambda: (
            client.get(f"/api/v1/accounts/{payer.id}", headers=payer.headers).status_code == 200
        ),
        RECOVERY_SECONDS,
        "the API to answer again",
        poll=0.2,
    )
    expected = [201, 200, 200, 201, 200, 401]
    statuses = [
        client.open(path, method=method, headers=headers, json=body).status_code
        for method, path, headers, body in routes
    ]
    assert statuses == expected
    assert client.get("/readyz").status_code == 200


def test_gunicorn_answers_503_through_an_outage_and_recovers_without_a_restart(outage_server):
    server = LiveServer(outage_server.url, ADMIN_KEY, workers=2, threads=2)
    server.start()
    try:
        opened = requests.post(
            f"{server.url}/api/v1/accounts", json={"owner_name": "Ada"}, headers=ADMIN, timeout=10
        )
        assert opened.status_code == 201, opened.text
        account = f"{server.url}/api/v1/accounts/{opened.json()['account']['id']}"

        outage_server.stop()
        try:
            # Several requests, so that both workers meet the outage.
            for _ in range(4):
                down = requests.get(account, headers=ADMIN, timeout=10)
                assert down.status_code == 503, down.text
                assert down.json()["error"] == "database_unavailable"
                assert "Retry-After" in down.headers
            assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
            assert requests.get(f"{server.url}/readyz", timeout=10).status_code == 503
        finally:
            outage_server.start()

        wait_for(
            lambda: requests.get(account, headers=ADMIN, timeout=10).status_code == 200,
            RECOVERY_SECONDS,
            "gunicorn to answer again",
            poll=0.2,
        )
        for _ in range(4):
            assert requests.get(account, headers=ADMIN, timeout=10).status_code == 200
        assert server.process.poll() is None
    finally:
        server.stop()
    assert "Traceback" not in server.output()
