"""Halves racing over real HTTP into a real gunicorn: replays store one half, pairs always meet."""

import random
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests

from tests import database
from tests.factories import Factory
from tests.factories import TestAccount as Account

pytestmark = pytest.mark.slow

REPLAYS = 32
TAPS = 50


def open_account(live_server: str, admin_headers: dict, owner: str, deposit: int) -> Account:
    response = requests.post(
        f"{live_server}/api/v1/accounts",
        json={"owner_name": owner, "opening_deposit": deposit},
        headers=admin_headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return Account(response.json()["account"]["id"], response.json()["api_key"])


def put_together(requests_to_send: list[tuple[str, dict, dict]]) -> list[requests.Response]:
    """PUT every (url, body, headers) from its own thread, all released at one instant."""
    barrier = threading.Barrier(len(requests_to_send))

    def put(request: tuple[str, dict, dict]) -> requests.Response:
        url, body, headers = request
        with requests.Session() as session:
            barrier.wait()
            return session.put(url, json=body, headers=headers, timeout=60)

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(put, requests_to_send))


def query(database_url: str, sql: str, *params) -> list[tuple]:
    """Rows from the test database over a connection of the test's own."""
    with psycopg.connect(database.libpq_url(database_url)) as conn:
        return conn.execute(sql, params).fetchall()


@pytest.fixture
def accounts(app, live_server, admin_headers):
    payer = open_account(live_server, admin_headers, "Ada", deposit=1_000_000)
    payee = open_account(live_server, admin_headers, "Bob", deposit=0)
    return payer, payee


@pytest.mark.parametrize(
    ("side", "partner_first"),
    [("sender", False), ("receiver", False), ("sender", True), ("receiver", True)],
    ids=["sender", "receiver", "sender-after-receiver", "receiver-after-sender"],
)
def test_simultaneous_replays_of_one_half_store_it_once(
    live_server, database_url, accounts, side, partner_first
):
    payer, payee = accounts
    key = uuid.uuid4()
    sender = (f"{live_server}/api/v1/taps/{key}/sender", Factory.sender_body(1250), payer.headers)
    receiver = (
        f"{live_server}/api/v1/taps/{key}/receiver",
        Factory.receiver_body(payer, 1250),
        payee.headers,
    )
    half, partner = (sender, receiver) if side == "sender" else (receiver, sender)
    if partner_first:  # the tap row exists already: only its lock orders the replays
        url, body, headers = partner
        assert requests.put(url, json=body, headers=headers, timeout=10).status_code == 201

    responses = put_together([half] * REPLAYS)

    statuses = Counter(response.status_code for response in responses)
    assert statuses == {201: 1, 200: REPLAYS - 1}, [
        r.text for r in responses if r.status_code >= 300
    ]
    # The same half in every answer (its status may move on as the pair settles meanwhile).
    answered = {
        (r.json()["key"], str({k: v for k, v in r.json()[side].items() if k != "status"}))
        for r in responses
    }
    assert len(answered) == 1, "every replay answers the same tap and the same half"
    account = payer if side == "sender" else payee
    halves = query(
        database_url,
        "SELECT account_id FROM halves WHERE tap_key = %s AND side = %s::tap_side",
        key,
        side,
    )
    assert halves == [(uuid.UUID(account.id),)]
    assert query(database_url, "SELECT count(*) FROM taps WHERE key = %s", key) == [(1,)]
    if partner_first:
        transfers = query(database_url, "SELECT amount FROM transfers WHERE tap_key = %s", key)
        assert transfers in ([], [(1250,)])


def test_both_halves_of_many_taps_sent_at_once_all_meet(live_server, database_url, accounts):
    payer, payee = accounts
    keys = [uuid.uuid4() for _ in range(TAPS)]
    halves = []
    for key in keys:
        halves.append(
            (f"{live_server}/api/v1/taps/{key}/sender", Factory.sender_body(100), payer.headers)
        )
        halves.append(
            (
                f"{live_server}/api/v1/taps/{key}/receiver",
                Factory.receiver_body(payer, 100),
                payee.headers,
            )
        )
    random.Random(3).shuffle(halves)

    responses = put_together(halves)

    assert Counter(response.status_code for response in responses) == {201: 2 * TAPS}
    statuses = dict(
        query(
            database_url,
            "SELECT key, status::text FROM taps WHERE key = ANY(%s)",
            keys,
        )
    )
    assert set(statuses) == set(keys)
    stuck = {
        key: status for key, status in statuses.items() if status not in ("matched", "settled")
    }
    assert not stuck, f"halves that never saw their partner: {stuck}"
    assert query(database_url, "SELECT count(*) FROM halves WHERE tap_key = ANY(%s)", keys) == [
        (2 * TAPS,)
    ]
    # What settled inline moved the money exactly once per tap.
    settled = sum(status == "settled" for status in statuses.values())
    payee_balance = query(
        database_url, "SELECT balance FROM accounts WHERE id = %s", uuid.UUID(payee.id)
    )
    assert payee_balance == [(100 * settled,)]
