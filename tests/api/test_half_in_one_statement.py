"""A PUT half is one statement, the key's lookup included (take_half(), migration 0014), sent
alone in autocommit (one round trip: no BEGIN, no COMMIT), and every refusal still comes in the
order the reference gives: the key before the body."""

import uuid
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select

from tapbank.devtools.injection import age_taps
from tapbank.extensions import db
from tapbank.keys import key_fingerprint
from tapbank.models import QueuedTap
from tapbank.scheduler import jobs
from tests.api.test_auth import assert_unauthorized, bearer, from_address

LIMIT = 20  # failed authentications per address per minute, from the contract


@pytest.fixture
def statements(monkeypatch):
    """Every statement the app sends through the driver, as it sends it, in order."""
    sent = []
    execute = psycopg.Cursor.execute

    def counting(cursor, query, *args, **kwargs):
        sent.append(Sent(str(query), cursor.connection.autocommit))
        return execute(cursor, query, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "execute", counting)
    return sent


class Sent(str):
    """A statement's text, and whether the connection was in autocommit when it was sent: then
    the server commits it as it ends, with no BEGIN before it or COMMIT after."""

    def __new__(cls, text: str, autocommit: bool):
        sent = super().__new__(cls, text)
        sent.autocommit = autocommit
        return sent


def test_a_new_half_is_one_statement_its_key_looked_up_in_it(factory, client, statements):
    payer = factory.account("Ada")
    assert factory.send(uuid.uuid4(), payer).status_code == 201  # a warm pool: no idle ping
    statements.clear()

    response = factory.send(uuid.uuid4(), payer)

    assert response.status_code == 201
    assert response.json["sender"]["account_id"] == payer.id
    assert len(statements) == 1 and "take_half(" in statements[0]
    assert statements[0].autocommit  # one round trip: the server commits the statement alone


def test_a_matching_half_is_taken_in_one_statement_before_it_settles(factory, statements):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    statements.clear()

    response = factory.receive(key, payee, payer)

    assert response.status_code == 201 and response.json["status"] == "settled"
    assert "take_half(" in statements[0] and statements[0].autocommit
    # The settlement that follows is a transaction of its own, after the half is committed.
    assert len(statements) > 1 and not any(statement.autocommit for statement in statements[1:])
    assert not any("take_half(" in statement for statement in statements[1:])


def test_an_unknown_key_on_a_half_is_refused_and_recorded(factory, client, admin_headers):
    key = uuid.uuid4()
    response = client.put(
        f"/api/v1/taps/{key}/sender", json=factory.sender_body(), headers=bearer("tbk_unknown")
    )

    assert_unauthorized(response)
    (failure,) = client.get("/api/v1/auth-failures", headers=admin_headers).json["items"]
    assert failure["route"] == "/api/v1/taps/<uuid:key>/sender"
    assert failure["key_fingerprint"] == key_fingerprint("tbk_unknown")
    assert client.get(f"/api/v1/taps/{key}", headers=admin_headers).status_code == 404


def test_an_unknown_key_with_an_invalid_body_is_401_not_422(factory, client, admin_headers):
    response = client.put(
        f"/api/v1/taps/{uuid.uuid4()}/receiver",
        json={"amount": -5},
        headers=bearer("tbk_unknown"),
    )

    assert_unauthorized(response)
    assert len(client.get("/api/v1/auth-failures", headers=admin_headers).json["items"]) == 1


def test_an_unknown_key_with_a_guessable_tap_key_is_401_not_422(factory, client):
    time_and_host = uuid.uuid1()
    response = client.put(
        f"/api/v1/taps/{time_and_host}/sender",
        json=factory.sender_body(),
        headers=bearer("tbk_unknown"),
    )

    assert_unauthorized(response)


def test_a_valid_key_with_an_invalid_body_is_422(factory, client):
    payer = factory.account("Ada")
    response = client.put(
        f"/api/v1/taps/{uuid.uuid4()}/sender", json={"amount": -5}, headers=payer.headers
    )

    assert response.status_code == 422
    assert response.json["error"] == "validation_failed"


@pytest.mark.parametrize("body", [{"amount": -5}, None], ids=["invalid body", "valid body"])
def test_the_operators_key_on_a_half_is_403_whatever_the_body(factory, client, admin_headers, body):
    response = client.put(
        f"/api/v1/taps/{uuid.uuid4()}/sender",
        json=body or factory.sender_body(),
        headers=admin_headers,
    )

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_no_key_with_an_invalid_body_is_401(client):
    response = client.put(f"/api/v1/taps/{uuid.uuid4()}/sender", json={"amount": -5})

    assert_unauthorized(response)


def test_unknown_keys_on_halves_past_the_limit_get_429_and_a_valid_key_is_served(factory, client):
    payer = factory.account("Ada")
    address = from_address("203.0.113.77")

    def put_half(headers):
        return client.put(
            f"/api/v1/taps/{uuid.uuid4()}/sender",
            json=factory.sender_body(),
            headers=headers,
            environ_base=address,
        )

    statuses = [put_half(bearer(f"tbk_wrong-{n}")).status_code for n in range(LIMIT + 1)]

    assert statuses == [401] * LIMIT + [429]
    assert put_half(payer.headers).status_code == 201


def test_a_half_after_its_partner_expired_alone_ends_failed_and_is_not_queued(factory):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    ttl = factory.app.config["TAPBANK_TAP_TTL_SECONDS"]
    age_taps(db.session, [key], timedelta(seconds=2 * ttl))
    jobs.in_app_context(factory.app, jobs.expire)

    late = factory.receive(key, payee, payer)

    assert late.status_code == 201
    assert late.json["status"] == "failed"
    assert late.json["receiver"]["account_id"] == payee.id
    assert late.json["receiver"]["status"] == "failed"
    queued = db.session.execute(select(QueuedTap).where(QueuedTap.tap_key == key)).all()
    assert queued == []
    assert factory.receive(key, payee, payer, late_body(late)).status_code == 200


def late_body(answer) -> dict:
    """The receiver half an answer shows, as its phone sent it: its replay."""
    half = answer.json["receiver"]
    return {
        "sender_account_id": half["sender_account_id"],
        "amount": half["amount"],
        "currency": half["currency"],
        "device": half["device"],
        "tapped_at": half["tapped_at"],
    }
