"""AISBackend's phones, unchanged, against a real gunicorn over HTTPS with the development
certificate trusted by file, as `make run-legacy` serves them."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from tapbank.devtools.certificate import development_certificate
from tests import database
from tests.aisbackend_phone import AISBackendPhone
from tests.conftest import ADMIN_KEY
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def https_server(migrated_app, database_url, tmp_path_factory):
    """gunicorn over TLS with the certificate `flask legacy certificate` makes."""
    certificate, key, _ = development_certificate(tmp_path_factory.mktemp("instance"))
    server = LiveServer(database_url, ADMIN_KEY, workers=2, threads=4, tls=(certificate, key))
    server.start()
    yield server
    server.stop()


def open_account(server: LiveServer, owner: str, legacy_user_id: int, deposit: int = 0):
    """An account opened by the operator; returns the key and id the phone is given."""
    response = requests.post(
        f"{server.url}/api/v1/accounts",
        json={"owner_name": owner, "opening_deposit": deposit, "legacy_user_id": legacy_user_id},
        headers=ADMIN,
        verify=server.verify,
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["api_key"], response.json()["account"]["id"]


def phone(server: LiveServer, key: str, user_id: int) -> AISBackendPhone:
    return AISBackendPhone(server.url, key, user_id, verify=server.verify)


def balance(server: LiveServer, account_id: str) -> int:
    response = requests.get(
        f"{server.url}/api/v1/accounts/{account_id}", headers=ADMIN, verify=server.verify
    )
    return response.json()["balance"]


@pytest.fixture
def phones(app, https_server):
    """A payer's phone (legacy id 1234567890, 100.00 USD) and a payee's (2234567890), with
    their account ids."""
    payer_key, payer_id = open_account(https_server, "Ada", 1234567890, deposit=10_000)
    payee_key, payee_id = open_account(https_server, "Bob", 2234567890)
    return (
        phone(https_server, payer_key, 1234567890),
        phone(https_server, payee_key, 2234567890),
        payer_id,
        payee_id,
    )


def legacy_codes(tap: dict) -> list[int | None]:
    return [reason["legacy_code"] for reason in tap["failure"]["reasons"]]


def test_a_tap_between_two_aisbackend_phones_settles(https_server, phones):
    payer, payee, payer_id, payee_id = phones
    key = str(uuid.uuid4())

    sent = payer.send(key, 12.5)
    received = payee.receive(key, sender_id=1234567890, expected_amount=12.5)

    assert sent.status_code == 201, sent.text
    assert received.status_code == 201, received.text
    assert received.json()["status"] == "settled"
    assert received.json()["transfer"]["amount"] == 1250
    assert (balance(https_server, payer_id), balance(https_server, payee_id)) == (8750, 1250)
    for party in (payer, payee):
        assert party.tap(key).json() == received.json()


def test_a_replayed_half_gets_200_and_the_same_tap(https_server, phones):
    payer, payee, payer_id, _ = phones
    key = str(uuid.uuid4())
    payer.send(key, 12.5)
    settled = payee.receive(key, sender_id=1234567890, expected_amount=12.5)

    replay = payee.receive(key, sender_id=1234567890, expected_amount=12.5)

    assert replay.status_code == 200
    assert replay.json() == settled.json()
    assert balance(https_server, payer_id) == 8750


def test_each_legacy_failure_code(https_server, database_url, phones):
    payer, payee, _, _ = phones
    open_account(https_server, "Cy", 3234567890, deposit=10_000)
    overdraw, stranger, mismatch, late = (str(uuid.uuid4()) for _ in range(4))

    payer.send(overdraw, 100.01)
    payer.send(stranger, 12.5)
    payer.send(mismatch, 12.5)
    payer.send(late, 12.5)
    arrived_earlier(database_url, late, seconds=121)  # the TTL is 120 s

    outcomes = [
        payee.receive(overdraw, sender_id=1234567890, expected_amount=100.01),
        payee.receive(stranger, sender_id=3234567890, expected_amount=12.5),
        payee.receive(mismatch, sender_id=1234567890, expected_amount=12.4),
        payee.receive(late, sender_id=1234567890, expected_amount=12.5),
    ]

    assert [legacy_codes(outcome.json()) for outcome in outcomes] == [[100], [200], [300], [500]]


def arrived_earlier(database_url: str, key: str, seconds: int) -> None:
    """Make the tap's halves look as if they reached the server this much earlier."""
    with psycopg.connect(database.libpq_url(database_url)) as conn:
        conn.execute(
            "UPDATE halves SET received_at = received_at - make_interval(secs => %s) "
            "WHERE tap_key = %s",
            (seconds, key),
        )


def test_an_amount_with_more_decimals_than_the_currency_is_refused(phones):
    payer, _, _, _ = phones

    response = payer.send(str(uuid.uuid4()), 0.125)

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["transfer_amount"]


def test_a_wrong_key_is_refused_and_recorded_without_the_key(https_server, phones):
    wrong_key = "tbk_" + uuid.uuid4().hex + uuid.uuid4().hex
    intruder = phone(https_server, wrong_key, 1234567890)

    response = intruder.send(str(uuid.uuid4()), 12.5)

    assert response.status_code == 401
    failures = requests.get(
        f"{https_server.url}/api/v1/auth-failures", headers=ADMIN, verify=https_server.verify
    )
    assert wrong_key[len("tbk_") :] not in failures.text
    newest = failures.json()["items"][0]
    assert (newest["method"], newest["route"]) == ("POST", "/api/v1/send/")
    assert newest["key_fingerprint"]


def test_simultaneous_copies_of_a_receiver_half_store_it_once(https_server, database_url, phones):
    _, payee, _, _ = phones
    key = str(uuid.uuid4())
    copies = 8
    barrier = threading.Barrier(copies)

    def receive(_):
        barrier.wait()
        return payee.receive(key, sender_id=1234567890, expected_amount=12.5).status_code

    with ThreadPoolExecutor(max_workers=copies) as pool:
        statuses = sorted(pool.map(receive, range(copies)))

    assert statuses == [200] * (copies - 1) + [201]
    with psycopg.connect(database.libpq_url(database_url)) as conn:
        count = conn.execute("SELECT count(*) FROM halves WHERE tap_key = %s", (key,)).fetchone()
    assert count == (1,)


def test_without_the_certificate_file_the_server_is_not_trusted(https_server):
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{https_server.url}/healthz", timeout=5)


@pytest.mark.parametrize(
    ("allowed_proxies", "answer"),
    [("127.0.0.1", 201), ("10.9.9.9", 401)],
    ids=["from-a-trusted-proxy", "from-anyone-else"],
)
def test_behind_trusted_proxies_only_they_may_send_api_key(
    app, migrated_app, database_url, allowed_proxies, answer
):
    server = LiveServer(database_url, ADMIN_KEY, workers=1, threads=2)
    server.env |= {"TAPBANK_TRUSTED_PROXIES": "1", "FORWARDED_ALLOW_IPS": allowed_proxies}
    server.start()
    try:
        key, _ = open_account(server, "Ada", 1234567890, deposit=10_000)
        tap_key = str(uuid.uuid4())
        assert phone(server, key, 1234567890).send(tap_key, 12.5).status_code == answer
        # A client's X_Forwarded_For is never taken for the proxy's X-Forwarded-For.
        spoofed = requests.get(
            f"{server.url}/api/v1/taps/{tap_key}",
            headers={"Authorization": "Bearer tbk_wrong", "X_Forwarded_For": "6.6.6.6"},
            timeout=10,
        )
        assert spoofed.status_code == 401
        failures = requests.get(f"{server.url}/api/v1/auth-failures", headers=ADMIN, timeout=10)
        assert failures.json()["items"][0]["client_address"] == "127.0.0.1"
    finally:
        server.stop()
