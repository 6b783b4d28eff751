"""Accounts: open, read, list, freeze, deposit, rotate keys and the transfer history."""

import base64
import json
import uuid
from datetime import datetime

import pytest

from tapbank.models.accounts import FUNDING_ACCOUNT_ID

ACCOUNT_FIELDS = {
    "id",
    "account_number",
    "owner_name",
    "account_type",
    "bank_name",
    "currency",
    "balance",
    "status",
    "created_at",
    "legacy_user_id",
}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def history(client, account, headers, **query):
    response = client.get(
        f"/api/v1/accounts/{account.id}/transfers", headers=headers, query_string=query
    )
    assert response.status_code == 200, response.json
    return response.json


def all_pages(client, path, headers, limit):
    """Follow next_cursor to the end; returns the items and how many pages it took."""
    items, cursor, pages = [], None, 0
    while True:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = client.get(path, headers=headers, query_string=query)
        assert response.status_code == 200, response.json
        assert len(response.json["items"]) <= limit
        items += response.json["items"]
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items, pages


# Opening


def test_opening_an_account_returns_it_and_its_key(client, admin_headers):
    body = {
        "owner_name": "Ada Lovelace",
        "account_type": "savings",
        "bank_name": "Analytical",
        "currency": "EUR",
    }
    response = client.post("/api/v1/accounts", json=body, headers=admin_headers)

    assert response.status_code == 201
    account, key = response.json["account"], response.json["api_key"]
    assert set(account) == ACCOUNT_FIELDS
    assert uuid.UUID(account["id"])
    assert account["owner_name"] == "Ada Lovelace"
    assert account["account_type"] == "savings"
    assert account["bank_name"] == "Analytical"
    assert account["currency"] == "EUR"
    assert account["balance"] == 0
    assert account["status"] == "active"
    assert account["account_number"]
    assert datetime.fromisoformat(account["created_at"]).utcoffset().total_seconds() == 0
    assert key.startswith("tbk_")
    assert len(key) - len("tbk_") >= 43  # 256 bits of base64url


def test_each_account_gets_its_own_key_and_number(factory, client, admin_headers):
    first, second = factory.account("Ada"), factory.account("Bob")
    numbers = {
        client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers).json["account_number"]
        for account in (first, second)
    }
    assert first.key != second.key
    assert len(numbers) == 2


def test_the_key_is_shown_only_when_the_account_is_opened(factory, client, admin_headers):
    account = factory.account("Ada")
    as_owner = client.get(f"/api/v1/accounts/{account.id}", headers=account.headers)
    listed = client.get("/api/v1/accounts", headers=admin_headers)
    assert as_owner.status_code == 200
    assert account.key not in as_owner.get_data(as_text=True)
    assert account.key not in listed.get_data(as_text=True)


def test_an_opening_deposit_is_a_deposit_transfer_from_the_funding_account(factory, client):
    account = factory.account("Ada", deposit=5000)

    assert factory.balance(account) == 5000
    [item] = history(client, account, account.headers)["items"]
    assert item["kind"] == "deposit"
    assert item["direction"] == "credit"
    assert item["amount"] == 5000
    assert item["balance_after"] == 5000
    assert item["counterparty_account_id"] == str(FUNDING_ACCOUNT_ID)


def test_an_account_without_an_opening_deposit_has_no_transfers(factory, client):
    account = factory.account("Ada")
    assert factory.balance(account) == 0
    assert history(client, account, account.headers)["items"] == []


def test_opening_an_account_defaults_its_type_bank_and_currency(app, client, admin_headers):
    response = client.post("/api/v1/accounts", json={"owner_name": "Ada"}, headers=admin_headers)

    assert response.status_code == 201
    account = response.json["account"]
    assert account["account_type"] == "checking"
    assert account["bank_name"] == "tapbank"
    assert account["currency"] == app.config["TAPBANK_CURRENCY"]
    assert account["balance"] == 0


def test_the_default_currency_comes_from_the_configuration(app, client, admin_headers):
    default = app.config["TAPBANK_CURRENCY"]
    app.config["TAPBANK_CURRENCY"] = "GBP"
    try:
        response = client.post(
            "/api/v1/accounts", json={"owner_name": "Ada"}, headers=admin_headers
        )
    finally:
        app.config["TAPBANK_CURRENCY"] = default
    assert response.status_code == 201
    assert response.json["account"]["currency"] == "GBP"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner_name", ""),
        ("owner_name", None),
        ("owner_name", "   "),
        ("bank_name", "\t "),
        ("account_type", "funding"),
        ("account_type", "current"),
        ("currency", "usd"),
        ("currency", "DOLLARS"),
        ("bank_name", ""),
        ("opening_deposit", -1),
        ("opening_deposit", 12.5),
        ("opening_deposit", 100.0),
        ("opening_deposit", "1250"),
        ("opening_deposit", True),
        ("opening_deposit", 10**13),
    ],
)
def test_opening_an_account_with_an_invalid_field_is_refused(client, admin_headers, field, value):
    body = {"owner_name": "Ada", field: value}
    response = client.post("/api/v1/accounts", json=body, headers=admin_headers)

    assert response.status_code == 422
    assert field in response.json["errors"]
    listed = client.get("/api/v1/accounts", headers=admin_headers)
    assert listed.json["items"] == []


def test_opening_an_account_needs_the_owner_name(client, admin_headers):
    response = client.post("/api/v1/accounts", json={}, headers=admin_headers)
    assert response.status_code == 422
    assert "owner_name" in response.json["errors"]


def test_only_the_operator_may_open_an_account(factory, client):
    account = factory.account("Ada")
    response = client.post("/api/v1/accounts", json={"owner_name": "Eve"}, headers=account.headers)
    assert response.status_code == 403


# Reading


def test_the_owner_reads_its_account(factory, client):
    account = factory.account("Ada", deposit=700)
    response = client.get(f"/api/v1/accounts/{account.id}", headers=account.headers)

    assert response.status_code == 200
    assert set(response.json) == ACCOUNT_FIELDS
    assert response.json["id"] == account.id
    assert response.json["owner_name"] == "Ada"
    assert response.json["balance"] == 700


def test_the_operator_reads_any_account(factory, client, admin_headers):
    account = factory.account("Ada", deposit=300)
    response = client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers)
    assert response.status_code == 200
    assert response.json["id"] == account.id
    assert response.json["balance"] == 300


def test_another_accounts_key_cannot_see_an_account(factory, client):
    ada, eve = factory.account("Ada", deposit=100), factory.account("Eve")
    response = client.get(f"/api/v1/accounts/{ada.id}", headers=eve.headers)

    assert response.status_code == 404
    assert response.json["error"] == "account_not_found"
    assert "Ada" not in response.get_data(as_text=True)


@pytest.mark.parametrize("account_id", [uuid.uuid4(), FUNDING_ACCOUNT_ID])
def test_an_unknown_account_is_not_found(client, admin_headers, account_id):
    response = client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers)
    assert response.status_code == 404
    assert response.json["error"] == "account_not_found"


def test_an_account_id_that_is_not_a_uuid_is_not_found(client, admin_headers):
    response = client.get("/api/v1/accounts/12345", headers=admin_headers)
    assert response.status_code == 404


# Listing


def test_the_operator_lists_accounts_newest_first(factory, client, admin_headers):
    opened = [factory.account(name) for name in ("Ada", "Bob", "Cy")]
    response = client.get("/api/v1/accounts", headers=admin_headers)

    assert response.status_code == 200
    assert [item["id"] for item in response.json["items"]] == [a.id for a in reversed(opened)]
    assert response.json["next_cursor"] is None
    assert str(FUNDING_ACCOUNT_ID) not in {item["id"] for item in response.json["items"]}


def test_the_account_list_is_paginated_by_cursor(factory, client, admin_headers):
    opened = [factory.account(f"Owner {n}") for n in range(5)]

    first = client.get("/api/v1/accounts", headers=admin_headers, query_string={"limit": 2})
    assert len(first.json["items"]) == 2
    assert first.json["next_cursor"]
    items, pages = all_pages(client, "/api/v1/accounts", admin_headers, limit=2)
    assert pages == 3
    assert [item["id"] for item in items] == [a.id for a in reversed(opened)]


def test_the_default_page_holds_fifty_accounts(factory, client, admin_headers):
    for n in range(51):
        factory.account(f"Owner {n}")
    response = client.get("/api/v1/accounts", headers=admin_headers)
    assert len(response.json["items"]) == 50
    assert response.json["next_cursor"]


def cursor_of(values: list) -> str:
    """A cursor built the way a client might forge one: base64 of a JSON list."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("cursor", ["not-a-cursor", "W10", "eyJhIjogMX0", "WyJ4IiwgInkiXQ"])
def test_a_cursor_the_api_did_not_give_out_is_refused(client, admin_headers, cursor):
    response = client.get(
        "/api/v1/accounts", headers=admin_headers, query_string={"cursor": cursor}
    )
    assert response.status_code == 422
    assert "cursor" in response.json["errors"]


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
def test_a_limit_outside_1_to_200_is_refused(client, admin_headers, limit):
    response = client.get("/api/v1/accounts", headers=admin_headers, query_string={"limit": limit})
    assert response.status_code == 422
    assert "limit" in response.json["errors"]


@pytest.mark.parametrize("limit", ["1", "200"])
def test_a_limit_of_1_to_200_is_accepted(factory, client, admin_headers, limit):
    factory.account("Ada")
    response = client.get("/api/v1/accounts", headers=admin_headers, query_string={"limit": limit})
    assert response.status_code == 200
    assert len(response.json["items"]) == 1


def test_only_the_operator_may_list_accounts(factory, client):
    account = factory.account("Ada")
    assert client.get("/api/v1/accounts", headers=account.headers).status_code == 403


# Freezing


def test_the_operator_freezes_and_unfreezes_an_account(
    factory, client, other_client, admin_headers
):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"

    frozen = client.patch(path, json={"status": "frozen"}, headers=admin_headers)
    assert frozen.status_code == 200
    assert frozen.json["status"] == "frozen"
    assert other_client.get(path, headers=admin_headers).json["status"] == "frozen"

    active = client.patch(path, json={"status": "active"}, headers=admin_headers)
    assert active.status_code == 200
    assert active.json["status"] == "active"
    assert other_client.get(path, headers=admin_headers).json["status"] == "active"


def test_an_owner_cannot_freeze_or_unfreeze_its_account(factory, client, admin_headers):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"

    response = client.patch(path, json={"status": "frozen"}, headers=account.headers)

    assert response.status_code == 403
    assert client.get(path, headers=admin_headers).json["status"] == "active"


@pytest.mark.parametrize(
    "body", [{"status": "closed"}, {"status": "FROZEN"}, {"status": None}, {}, {"status": 1}]
)
def test_an_invalid_status_is_refused(factory, client, admin_headers, body):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"

    response = client.patch(path, json=body, headers=admin_headers)

    assert response.status_code == 422
    assert "status" in response.json["errors"]
    assert client.get(path, headers=admin_headers).json["status"] == "active"


def test_freezing_an_unknown_account_is_not_found(client, admin_headers):
    path = f"/api/v1/accounts/{uuid.uuid4()}"
    response = client.patch(path, json={"status": "frozen"}, headers=admin_headers)
    assert response.status_code == 404


# Deposits


def test_a_deposit_is_a_transfer_from_the_funding_account(factory, client, admin_headers):
    account = factory.account("Ada", deposit=1000)
    path = f"/api/v1/accounts/{account.id}/deposits"

    response = client.post(
        path, json={"amount": 250, "memo": "pocket money"}, headers=admin_headers
    )

    assert response.status_code == 201
    transfer = response.json
    assert uuid.UUID(transfer["id"])
    assert transfer["kind"] == "deposit"
    assert transfer["amount"] == 250
    assert transfer["currency"] == "USD"
    assert transfer["memo"] == "pocket money"
    assert transfer["debit_account_id"] == str(FUNDING_ACCOUNT_ID)
    assert transfer["credit_account_id"] == account.id
    assert factory.balance(account) == 1250


def test_a_deposit_is_committed(factory, client, other_client, admin_headers):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}/deposits"
    assert client.post(path, json={"amount": 325}, headers=admin_headers).status_code == 201

    seen_elsewhere = other_client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers)
    assert seen_elsewhere.json["balance"] == 325


def test_a_deposit_in_another_currency_keeps_the_accounts_currency(factory, client, admin_headers):
    account = factory.account("Ada", currency="EUR")
    path = f"/api/v1/accounts/{account.id}/deposits"
    response = client.post(path, json={"amount": 100}, headers=admin_headers)
    assert response.status_code == 201
    assert response.json["currency"] == "EUR"


@pytest.mark.parametrize(
    "amount", [12.5, 100.0, "100", "1e2", True, False, 0, -100, None, [100], 10**12 + 1]
)
def test_a_deposit_amount_that_is_not_a_positive_integer_is_refused(
    factory, client, admin_headers, amount
):
    account = factory.account("Ada", deposit=1000)
    path = f"/api/v1/accounts/{account.id}/deposits"

    response = client.post(path, json={"amount": amount}, headers=admin_headers)

    assert response.status_code == 422
    assert "amount" in response.json["errors"]
    assert factory.balance(account) == 1000
    assert len(history(client, account, admin_headers)["items"]) == 1


def test_a_deposit_needs_an_amount(factory, client, admin_headers):
    account = factory.account("Ada")
    response = client.post(
        f"/api/v1/accounts/{account.id}/deposits", json={"memo": "x"}, headers=admin_headers
    )
    assert response.status_code == 422
    assert "amount" in response.json["errors"]


def test_only_the_operator_may_deposit(factory, client):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}/deposits"

    response = client.post(path, json={"amount": 100}, headers=account.headers)

    assert response.status_code == 403
    assert factory.balance(account) == 0


@pytest.mark.parametrize("account_id", [uuid.uuid4(), FUNDING_ACCOUNT_ID])
def test_a_deposit_to_an_unknown_account_is_not_found(client, admin_headers, account_id):
    path = f"/api/v1/accounts/{account_id}/deposits"
    response = client.post(path, json={"amount": 100}, headers=admin_headers)
    assert response.status_code == 404


# Key rotation


@pytest.mark.parametrize("rotated_by", ["owner", "operator"])
def test_a_rotated_key_stops_working_and_the_new_one_works(
    factory, client, other_client, admin_headers, rotated_by
):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"
    headers = account.headers if rotated_by == "owner" else admin_headers

    response = client.post(f"{path}/api-keys", headers=headers)

    assert response.status_code == 201
    new_key = response.json["api_key"]
    assert new_key.startswith("tbk_")
    assert new_key != account.key
    for each in (client, other_client):
        assert each.get(path, headers=bearer(new_key)).status_code == 200
        old = each.get(path, headers=account.headers)
        assert old.status_code == 401
        assert old.headers["WWW-Authenticate"].startswith("Bearer")


def test_another_account_cannot_rotate_a_key(factory, client):
    ada, eve = factory.account("Ada"), factory.account("Eve")

    response = client.post(f"/api/v1/accounts/{ada.id}/api-keys", headers=eve.headers)

    assert response.status_code == 404
    assert "api_key" not in response.json
    assert client.get(f"/api/v1/accounts/{ada.id}", headers=ada.headers).status_code == 200


def test_rotating_one_key_leaves_other_accounts_keys_working(factory, client, admin_headers):
    ada, bob = factory.account("Ada"), factory.account("Bob")
    assert (
        client.post(f"/api/v1/accounts/{ada.id}/api-keys", headers=admin_headers).status_code == 201
    )
    assert client.get(f"/api/v1/accounts/{bob.id}", headers=bob.headers).status_code == 200


def test_rotating_a_key_twice_voids_both_earlier_keys(factory, client):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"
    second = client.post(f"{path}/api-keys", headers=account.headers).json["api_key"]
    third = client.post(f"{path}/api-keys", headers=bearer(second)).json["api_key"]

    assert client.get(path, headers=account.headers).status_code == 401
    assert client.get(path, headers=bearer(second)).status_code == 401
    assert client.get(path, headers=bearer(third)).status_code == 200


# Transfer history


def test_the_history_lists_deposits_newest_first_with_the_balance_after(
    factory, client, admin_headers
):
    account = factory.account("Ada", deposit=1000)
    path = f"/api/v1/accounts/{account.id}/deposits"
    client.post(path, json={"amount": 250, "memo": "second"}, headers=admin_headers)
    client.post(path, json={"amount": 5, "memo": "third"}, headers=admin_headers)

    page = history(client, account, account.headers)

    assert [item["amount"] for item in page["items"]] == [5, 250, 1000]
    assert [item["balance_after"] for item in page["items"]] == [1255, 1250, 1000]
    assert [item["memo"] for item in page["items"]] == ["third", "second", "Opening deposit"]
    assert {item["direction"] for item in page["items"]} == {"credit"}
    assert {item["kind"] for item in page["items"]} == {"deposit"}
    assert page["next_cursor"] is None


def test_the_history_shows_a_tap_as_a_debit_for_the_payer_and_a_credit_for_the_payee(
    factory, client
):
    payer, payee = factory.account("Ada", deposit=5000), factory.account("Bob")
    assert factory.tap(payer, payee, 1250).json["status"] == "settled"

    [paid, opening] = history(client, payer, payer.headers)["items"]
    [received] = history(client, payee, payee.headers)["items"]

    assert paid["kind"] == "tap"
    assert paid["direction"] == "debit"
    assert paid["amount"] == 1250
    assert paid["balance_after"] == 3750
    assert paid["counterparty_account_id"] == payee.id
    assert opening["direction"] == "credit"
    assert received["direction"] == "credit"
    assert received["amount"] == 1250
    assert received["balance_after"] == 1250
    assert received["counterparty_account_id"] == payer.id
    assert received["transfer_id"] == paid["transfer_id"]
    assert received["tap_key"] == paid["tap_key"]


def test_the_history_is_paginated_by_cursor(factory, client, admin_headers):
    account = factory.account("Ada", deposit=1)
    for amount in (2, 3, 4, 5):
        path = f"/api/v1/accounts/{account.id}/deposits"
        client.post(path, json={"amount": amount}, headers=admin_headers)

    items, pages = all_pages(
        client, f"/api/v1/accounts/{account.id}/transfers", account.headers, limit=2
    )

    assert pages == 3
    assert [item["amount"] for item in items] == [5, 4, 3, 2, 1]
    assert len({item["transfer_id"] for item in items}) == 5


def test_the_history_holds_only_the_accounts_own_transfers(factory, client):
    ada, bob = factory.account("Ada", deposit=100), factory.account("Bob", deposit=200)
    assert [item["amount"] for item in history(client, ada, ada.headers)["items"]] == [100]
    assert [item["amount"] for item in history(client, bob, bob.headers)["items"]] == [200]


def test_the_operator_reads_any_history_but_another_account_cannot(factory, client, admin_headers):
    ada, eve = factory.account("Ada", deposit=100), factory.account("Eve")
    path = f"/api/v1/accounts/{ada.id}/transfers"

    assert client.get(path, headers=admin_headers).status_code == 200
    assert client.get(path, headers=eve.headers).status_code == 404


@pytest.mark.parametrize(
    "cursor", ["bm90LWEtY3Vyc29y", cursor_of(["12x"]), cursor_of([str(2**63)]), cursor_of([1, 2])]
)
def test_a_history_cursor_the_api_did_not_give_out_is_refused(factory, client, cursor):
    account = factory.account("Ada", deposit=100)
    response = client.get(
        f"/api/v1/accounts/{account.id}/transfers",
        headers=account.headers,
        query_string={"cursor": cursor},
    )
    assert response.status_code == 422
    assert "cursor" in response.json["errors"]
