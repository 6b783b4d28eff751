"""Idempotency-Key on the operator's POSTs: the first request runs, a repeat gets its answer."""

import threading
import time
import uuid

import psycopg
import pytest
from sqlalchemy import func, select, text

from tapbank.extensions import db
from tapbank.idempotency import Scope, claim, request_digest
from tapbank.models import Account, AccountType, IdempotencyKey, Transfer
from tests.api.test_errors import assert_error_shape
from tests.api.test_lock_waits import GENEROUS_SECONDS, held
from tests.database import libpq_url
from tests.scheduler.test_workers import assert_ledger_verifies

ACCOUNTS = "/api/v1/accounts"


def deposits_path(account) -> str:
    return f"/api/v1/accounts/{account.id}/deposits"


def keyed(admin_headers: dict, key: str) -> dict:
    return {**admin_headers, "Idempotency-Key": key}


def count(model, *where) -> int:
    found = db.session.scalar(select(func.count()).select_from(model).where(*where))
    db.session.rollback()
    return found


def deposits_into(account) -> int:
    return count(Transfer, Transfer.credit_account_id == uuid.UUID(account.id))


def customer_accounts() -> int:
    return count(Account, Account.account_type != AccountType.FUNDING)


def stored_bodies() -> list[dict]:
    bodies = db.session.scalars(select(IdempotencyKey.response_body)).all()
    db.session.rollback()
    return bodies


@pytest.fixture
def ada(factory):
    return factory.account("Ada", deposit=1_000)


# Replays


def test_a_repeated_deposit_gets_the_first_answer_and_deposits_once(
    client, factory, runner, admin_headers, ada
):
    headers = keyed(admin_headers, "deposit-2500-for-ada")
    body = {"amount": 2500, "memo": "top up"}

    first = client.post(deposits_path(ada), json=body, headers=headers)
    again = client.post(deposits_path(ada), json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert factory.balance(ada) == 3_500
    assert deposits_into(ada) == 2  # the opening deposit and this one
    assert_ledger_verifies(runner)


def test_a_replayed_account_opening_shows_the_key_null_and_opens_one_account(client, admin_headers):
    headers = keyed(admin_headers, "open-ada")
    body = {"owner_name": "Ada", "opening_deposit": 5000}

    first = client.post(ACCOUNTS, json=body, headers=headers)
    again = client.post(ACCOUNTS, json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert first.json["api_key"].startswith("tbk_")
    assert again.json == {**first.json, "api_key": None}
    assert customer_accounts() == 1
    account_id = first.json["account"]["id"]
    own_key = {"Authorization": f"Bearer {first.json['api_key']}"}
    assert client.get(f"{ACCOUNTS}/{account_id}", headers=own_key).json["balance"] == 5000
    # Only the digest of a key is ever stored: the record keeps the answer without it.
    assert stored_bodies() == [{**first.json, "api_key": None}]
    record_text = db.session.scalar(text("SELECT idempotency_keys::text FROM idempotency_keys"))
    db.session.rollback()
    assert first.json["api_key"] not in record_text
    assert first.json["api_key"].removeprefix("tbk_") not in record_text


def test_a_body_with_its_keys_in_another_order_and_other_spacing_is_the_same_request(
    client, factory, admin_headers, ada
):
    headers = keyed(admin_headers, "same-body-other-text")
    bodies = [
        '{"amount": 2500, "memo": "top \\u0075p"}',
        '{\n  "memo":"top up",\n  "amount":2500\n}',
    ]

    answers = [
        client.post(deposits_path(ada), data=raw, content_type="application/json", headers=headers)
        for raw in bodies
    ]

    assert [answer.status_code for answer in answers] == [201, 201]
    assert answers[1].json == answers[0].json
    assert factory.balance(ada) == 3_500


def test_without_the_header_each_post_runs(client, factory, admin_headers, ada):
    for _ in range(2):
        answer = client.post(deposits_path(ada), json={"amount": 100}, headers=admin_headers)
        assert answer.status_code == 201
        assert "Idempotent-Replayed" not in answer.headers

    assert factory.balance(ada) == 1_200
    assert count(IdempotencyKey) == 0


def test_the_same_key_with_another_body_is_refused_and_does_nothing(
    client, factory, admin_headers, ada
):
    headers = keyed(admin_headers, "one-deposit")
    assert client.post(deposits_path(ada), json={"amount": 100}, headers=headers).status_code == 201

    refused = client.post(deposits_path(ada), json={"amount": 900}, headers=headers)

    body = assert_error_shape(refused, 422)
    assert body["error"] == "idempotency_key_reused"
    assert list(body["errors"]) == ["Idempotency-Key"]
    assert factory.balance(ada) == 1_100
    assert deposits_into(ada) == 2


def test_a_key_counts_on_its_own_path_only(client, factory, admin_headers, ada):
    bob = factory.account("Bob")
    headers = keyed(admin_headers, "shared-key")
    body = {"amount": 100}

    for account in (ada, bob, ada):
        answer = client.post(deposits_path(account), json=body, headers=headers)
        assert answer.status_code == 201
    opened = client.post(ACCOUNTS, json={"owner_name": "Cy"}, headers=headers)

    assert opened.status_code == 201 and opened.json["api_key"]
    assert (factory.balance(ada), factory.balance(bob)) == (1_100, 100)
    assert count(IdempotencyKey) == 3


def test_an_account_id_written_in_capitals_is_the_same_path(client, factory, admin_headers, ada):
    headers = keyed(admin_headers, "capitals")
    body = {"amount": 100}
    first = client.post(deposits_path(ada), json=body, headers=headers)
    shouted = client.post(f"{ACCOUNTS}/{ada.id.upper()}/deposits", json=body, headers=headers)

    assert shouted.status_code == 201
    assert shouted.json == first.json
    assert factory.balance(ada) == 1_100


def test_a_key_counts_for_its_own_caller_only(app):
    # Only the operator may use these routes today; the record's scope names the caller anyway.
    digest = request_digest({"amount": 100})
    for caller in ("admin", str(uuid.uuid4())):
        scope = Scope(caller, "POST", "/api/v1/accounts", "shared-key")
        assert claim(db.session, scope, digest) is None
    db.session.commit()
    assert count(IdempotencyKey) == 2


# What is not stored


@pytest.mark.parametrize(
    "key",
    ["", "k" * 256, "caf\u00e9", "tab\there", "del\x7f", "bell\x07"],
    ids=["empty", "256 characters", "not ASCII", "tab", "DEL", "control"],
)
def test_a_malformed_key_is_refused_naming_the_header_and_nothing_is_done(
    client, factory, admin_headers, ada, key
):
    refused = client.post(
        deposits_path(ada), json={"amount": 100}, headers=keyed(admin_headers, key)
    )
    opening = client.post(ACCOUNTS, json={"owner_name": "Cy"}, headers=keyed(admin_headers, key))

    for answer in (refused, opening):
        body = assert_error_shape(answer, 422)
        assert body["error"] == "validation_failed"
        assert list(body["errors"]) == ["Idempotency-Key"]
    assert factory.balance(ada) == 1_000
    assert customer_accounts() == 1


@pytest.mark.parametrize("key", ["k" * 255, "x", " ~!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"])
def test_any_printable_ascii_key_of_1_to_255_characters_is_taken(
    client, factory, admin_headers, ada, key
):
    for _ in range(2):
        answer = client.post(
            deposits_path(ada), json={"amount": 100}, headers=keyed(admin_headers, key)
        )
        assert answer.status_code == 201, answer.json

    assert factory.balance(ada) == 1_100


def test_a_refused_request_stores_nothing_so_its_repeat_runs(client, factory, admin_headers, ada):
    headers = keyed(admin_headers, "first-refused")
    invalid = client.post(deposits_path(ada), json={"amount": 0}, headers=headers)
    assert invalid.json["error"] == "validation_failed"
    unknown = client.post(
        f"{ACCOUNTS}/{uuid.uuid4()}/deposits", json={"amount": 100}, headers=headers
    )
    assert unknown.json["error"] == "account_not_found"

    taken = client.post(deposits_path(ada), json={"amount": 100}, headers=headers)

    assert taken.status_code == 201
    assert factory.balance(ada) == 1_100


def test_a_request_that_gave_up_on_a_held_account_stores_nothing_so_its_repeat_runs(
    client, factory, admin_headers, ada, database_url
):
    headers = keyed(admin_headers, "held-account")
    holder = held(database_url, "SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", ada.id)
    try:
        busy = client.post(deposits_path(ada), json={"amount": 100}, headers=headers)
        assert assert_error_shape(busy, 503)["error"] == "busy"
        assert count(IdempotencyKey) == 0
    finally:
        holder.close()

    taken = client.post(deposits_path(ada), json={"amount": 100}, headers=headers)

    assert taken.status_code == 201
    assert "Idempotent-Replayed" not in taken.headers
    assert factory.balance(ada) == 1_100


# A repeat while the first still runs


def wait_for_a_lock_wait(database_url: str, statement: str) -> None:
    """Until some session waits on a lock while running statement (LIKE pattern)."""
    deadline = time.monotonic() + GENEROUS_SECONDS
    with psycopg.connect(libpq_url(database_url), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                (statement,),
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    pytest.fail(f"no session came to wait on a lock in {statement!r}")


def test_a_repeat_while_the_first_runs_waits_a_second_then_is_told_to_retry_and_then_replays(
    client, factory, factory_with, admin_headers, ada, database_url, runner
):
    # The first request is a real one, slowed by a held account row: its process may wait
    # five seconds for it, so it still runs when its repeat gives up after one.
    patient = factory_with(TAPBANK_DB_LOCK_TIMEOUT_MS=5000)
    headers = keyed(admin_headers, "slow-deposit")
    body = {"amount": 2500}
    answers = {}
    holder = held(database_url, "SELECT 1 FROM accounts WHERE id = %s FOR UPDATE", ada.id)
    first = threading.Thread(
        target=lambda: answers.setdefault(
            "first", patient.client.post(deposits_path(ada), json=body, headers=headers)
        )
    )
    try:
        first.start()
        wait_for_a_lock_wait(database_url, "SELECT accounts.%FOR NO KEY UPDATE")

        started = time.monotonic()
        in_use = client.post(deposits_path(ada), json=body, headers=headers)
        waited = time.monotonic() - started
    finally:
        holder.close()
        first.join(GENEROUS_SECONDS)

    refusal = assert_error_shape(in_use, 409)
    assert refusal["error"] == "idempotency_key_in_use"
    assert in_use.headers["Retry-After"] == "1"
    assert 0.9 <= waited < GENEROUS_SECONDS / 2
    assert answers["first"].status_code == 201, answers["first"].json

    replayed = client.post(deposits_path(ada), json=body, headers=headers)

    assert replayed.status_code == 201
    assert replayed.get_data() == answers["first"].get_data()
    assert factory.balance(ada) == 3_500
    assert_ledger_verifies(runner)


def test_a_repeat_waiting_on_a_first_that_rolls_back_runs_itself(
    client, factory, admin_headers, ada, database_url
):
    headers = keyed(admin_headers, "first-rolls-back")
    body = {"amount": 100}
    scope = ("admin", "POST", deposits_path(ada), "first-rolls-back", request_digest(body))
    holder = held(
        database_url,
        "INSERT INTO idempotency_keys (caller, method, path, key, request_digest) "
        "VALUES (%s, %s, %s, %s, %s)",
        *scope,
    )

    def roll_back_once_the_repeat_waits():
        wait_for_a_lock_wait(database_url, "INSERT INTO idempotency_keys%")
        holder.rollback()

    rollback = threading.Thread(target=roll_back_once_the_repeat_waits)
    try:
        rollback.start()
        answer = client.post(deposits_path(ada), json=body, headers=headers)
    finally:
        rollback.join(GENEROUS_SECONDS)
        holder.close()

    assert answer.status_code == 201, answer.json
    assert "Idempotent-Replayed" not in answer.headers
    assert factory.balance(ada) == 1_100
