"""The domain's counters move with what was committed."""

import uuid
from datetime import timedelta

from prometheus_client import REGISTRY

from tapbank.devtools.injection import age_taps
from tapbank.extensions import db
from tapbank.metrics import record_batch
from tapbank.scheduler import jobs
from tapbank.taps.settlement import BatchResult


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_settling_and_failing_taps_are_counted(factory):
    settled_before = sample("tapbank_transfers_settled_total")
    failed_before = sample("tapbank_tap_failures_total", reason="amount_mismatch")
    halves_before = sample("tapbank_halves_received_total", side="receiver", outcome="new")
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")

    assert factory.tap(payer, payee, 1000).json["status"] == "settled"
    key = "6a0c1d5e-0f3b-4a57-9d4b-2f8f0f5c1a10"
    factory.send(key, payer, factory.sender_body(100))
    factory.receive(key, payee, payer, factory.receiver_body(payer, 200))

    assert sample("tapbank_transfers_settled_total") == settled_before + 1
    assert sample("tapbank_tap_failures_total", reason="amount_mismatch") == failed_before + 1
    assert sample("tapbank_halves_received_total", side="receiver", outcome="new") == (
        halves_before + 2
    )


def test_refused_halves_are_counted_as_conflicts_of_their_side(factory):
    payer, payee, stranger = (factory.account(name, deposit=5000) for name in ("Ada", "Bob", "Cy"))
    before = {
        side: sample("tapbank_halves_received_total", side=side, outcome="conflict")
        for side in ("sender", "receiver")
    }
    key = uuid.uuid4()
    assert (
        factory.send(key, payer, factory.sender_body(100, receiver_account_id=payee.id)).status_code
        == 201
    )

    assert factory.send(key, payer, factory.sender_body(999)).json["error"] == "half_conflict"
    assert factory.receive(key, stranger, payer).json["error"] == "receiver_not_named"

    after = {
        side: sample("tapbank_halves_received_total", side=side, outcome="conflict")
        for side in before
    }
    assert after == {"sender": before["sender"] + 1, "receiver": before["receiver"] + 1}


def test_lone_halves_failed_as_expired_are_counted(app, factory):
    expired_before = sample("tapbank_tap_failures_total", reason="expired")
    key = uuid.uuid4()
    assert factory.send(key, factory.account("Ada", deposit=5000)).status_code == 201
    age_taps(db.session, [key], timedelta(seconds=app.config["TAPBANK_TAP_TTL_SECONDS"] + 1))

    assert jobs.expire().expired == 1
    assert sample("tapbank_tap_failures_total", reason="expired") == expired_before + 1


def test_a_batch_that_took_no_pair_is_not_observed():
    batches_before = sample("tapbank_reconcile_batch_pairs_count")

    record_batch(BatchResult())

    assert sample("tapbank_reconcile_batch_pairs_count") == batches_before


def test_the_metrics_route_serves_prometheus_text(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert "tapbank_http_request_duration_seconds" in response.get_data(as_text=True)


def test_with_a_metrics_port_of_their_own_the_api_serves_no_metrics(apps):
    # gunicorn's master serves them on that port (tests/production/test_gunicorn.py).
    client = apps(TAPBANK_METRICS_PORT=9100).test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 404
    assert response.json["error"] == "not_found"
