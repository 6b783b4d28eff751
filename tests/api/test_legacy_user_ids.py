"""An account's legacy_user_id: AISBackend's integer user id, optional, unique, shown when read."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from tapbank.extensions import db
from tapbank.models import Account, AccountType

LARGEST = 2**53 - 1


def open_account(client, admin_headers, **fields):
    return client.post(
        "/api/v1/accounts", json={"owner_name": "Ada", **fields}, headers=admin_headers
    )


def customer_accounts() -> int:
    query = select(func.count()).where(Account.account_type != AccountType.FUNDING)
    return db.session.execute(query).scalar_one()


@pytest.mark.parametrize("legacy_user_id", [1, 1234567890, 999_999_999_999, LARGEST])
def test_an_account_opened_with_a_legacy_user_id_shows_it_when_read(
    client, admin_headers, legacy_user_id
):
    opened = open_account(client, admin_headers, legacy_user_id=legacy_user_id)
    assert opened.status_code == 201, opened.json
    account = opened.json["account"]
    assert account["legacy_user_id"] == legacy_user_id

    own_key = {"Authorization": f"Bearer {opened.json['api_key']}"}
    read = client.get(f"/api/v1/accounts/{account['id']}", headers=own_key)
    assert read.json["legacy_user_id"] == legacy_user_id
    listed = client.get("/api/v1/accounts", headers=admin_headers).json["items"]
    assert [item["legacy_user_id"] for item in listed] == [legacy_user_id]


@pytest.mark.parametrize("body", [{}, {"legacy_user_id": None}], ids=["absent", "null"])
def test_an_account_opened_without_one_has_null(client, admin_headers, body):
    opened = open_account(client, admin_headers, **body)
    assert opened.status_code == 201, opened.json
    assert opened.json["account"]["legacy_user_id"] is None


def test_two_accounts_without_one_are_not_a_conflict(client, admin_headers):
    assert open_account(client, admin_headers).status_code == 201
    assert open_account(client, admin_headers).status_code == 201


@pytest.mark.parametrize(
    "value",
    [0, -1, LARGEST + 1, 10**30, 1234567890.0, 12.5, "1234567890", True, [1], {"id": 1}],
    ids=repr,
)
def test_a_legacy_user_id_that_is_not_a_positive_json_integer_is_refused(
    client, admin_headers, value
):
    response = open_account(client, admin_headers, legacy_user_id=value)
    assert response.status_code == 422, response.json
    assert "legacy_user_id" in response.json["errors"]
    assert customer_accounts() == 0


def test_a_legacy_user_id_another_account_has_is_a_conflict_and_opens_nothing(
    client, admin_headers
):
    first = open_account(client, admin_headers, legacy_user_id=1234567890, opening_deposit=500)
    assert first.status_code == 201

    again = open_account(client, admin_headers, legacy_user_id=1234567890, opening_deposit=500)

    assert again.status_code == 409, again.json
    assert again.json["error"] == "legacy_user_id_taken"
    assert "1234567890" in again.json["message"]
    assert customer_accounts() == 1


def test_two_openings_racing_for_one_legacy_user_id_open_one(live_server, admin_headers, app):
    barrier = threading.Barrier(8)

    def open_one(_):
        barrier.wait()
        return requests.post(
            f"{live_server}/api/v1/accounts",
            json={"owner_name": "Racer", "legacy_user_id": 5550001234},
            headers=admin_headers,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(open_one, range(8)))

    assert statuses == [201] + [409] * 7
    assert customer_accounts() == 1


@pytest.mark.parametrize(
    ("legacy_user_id", "constraint"),
    [(0, "ck_accounts_legacy_user_id_positive"), (7, "uq_accounts_legacy_user_id")],
)
def test_the_database_itself_refuses_a_duplicate_or_non_positive_id(
    app, legacy_user_id, constraint
):
    insert = text(
        "INSERT INTO accounts (id, owner_name, account_type, bank_name, currency, balance, "
        "status, legacy_user_id) VALUES (gen_random_uuid(), 'x', 'checking', 'b', 'USD', 0, "
        "'active', :legacy_user_id)"
    )
    db.session.execute(insert, {"legacy_user_id": 7})
    with pytest.raises(IntegrityError, match=constraint):
        db.session.execute(insert, {"legacy_user_id": legacy_user_id})
    db.session.rollback()
