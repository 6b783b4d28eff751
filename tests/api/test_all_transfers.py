"""GET /api/v1/transfers: every account's transfers, taps and deposits, newest first, for the
operator."""

import base64
import json
import uuid

import pytest

from tapbank.models.accounts import FUNDING_ACCOUNT_ID

ROUTE = "/api/v1/transfers"


def transfers(client, headers, **query) -> dict:
    response = client.get(ROUTE, headers=headers, query_string=query)
    assert response.status_code == 200, response.json
    return response.json


def every_page(client, headers, limit: int) -> list[list[dict]]:
    """Follow next_cursor from the first page to the last."""
    pages, cursor = [], None
    while True:
        query = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        page = transfers(client, headers, **query)
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


def test_every_accounts_taps_and_deposits_are_listed_newest_first(factory, client, admin_headers):
    ada = factory.account("Ada", deposit=5000)
    bob = factory.account("Bob", deposit=700)
    settled = factory.tap(ada, bob, amount=1250)
    assert settled.json["status"] == "settled"

    items = transfers(client, admin_headers)["items"]

    assert [(item["kind"], item["amount"]) for item in items] == [
        ("tap", 1250),
        ("deposit", 700),
        ("deposit", 5000),
    ]
    tap = items[0]
    assert tap == {
        "id": settled.json["transfer"]["id"],
        "kind": "tap",
        "debit_account_id": ada.id,
        "credit_account_id": bob.id,
        "amount": 1250,
        "currency": "USD",
        "memo": None,
        "tap_key": settled.json["key"],
        "created_at": tap["created_at"],
    }
    assert items[2]["debit_account_id"] == str(FUNDING_ACCOUNT_ID)
    assert items[2]["credit_account_id"] == ada.id


def test_a_failed_tap_moves_no_money_and_is_not_listed(factory, client, admin_headers):
    ada, bob = factory.account("Ada"), factory.account("Bob")

    failed = factory.tap(ada, bob, amount=1250)

    assert failed.json["status"] == "failed"
    assert transfers(client, admin_headers)["items"] == []


def test_the_list_is_paginated_without_a_gap_or_a_repeat(factory, client, admin_headers):
    ada = factory.account("Ada", deposit=10_000)
    bob = factory.account("Bob")
    for amount in (100, 200, 300, 400):
        assert factory.tap(ada, bob, amount=amount).json["status"] == "settled"

    pages = every_page(client, admin_headers, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    amounts = [item["amount"] for page in pages for item in page]
    assert amounts == [400, 300, 200, 100, 10_000]


def test_a_page_is_fifty_transfers_unless_asked(factory, client, admin_headers):
    ada = factory.account("Ada")
    for _ in range(51):
        response = client.post(
            f"/api/v1/accounts/{ada.id}/deposits", json={"amount": 1}, headers=admin_headers
        )
        assert response.status_code == 201

    page = transfers(client, admin_headers)

    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None
    assert len(transfers(client, admin_headers, limit=200)["items"]) == 51


@pytest.mark.parametrize("limit", [0, 201, -1, "x"])
def test_a_limit_out_of_range_is_refused_naming_it(client, admin_headers, limit):
    response = client.get(ROUTE, headers=admin_headers, query_string={"limit": limit})

    assert response.status_code == 422
    assert "limit" in response.json["errors"]


def test_a_cursor_the_api_did_not_give_out_is_refused_naming_it(client, admin_headers):
    forged = [json.dumps(values).encode() for values in (["x"], [str(2**63)], ["1", "2"])]
    for cursor in ["nope", *(base64.urlsafe_b64encode(raw).decode() for raw in forged)]:
        response = client.get(ROUTE, headers=admin_headers, query_string={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert "cursor" in response.json["errors"]


def test_an_account_key_may_not_read_every_accounts_transfers(factory, client):
    ada = factory.account("Ada", deposit=100)

    response = client.get(ROUTE, headers=ada.headers)

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_without_a_key_the_list_is_unauthorized(client):
    response = client.get(ROUTE)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_account_key_that_is_not_known_is_unauthorized(client):
    response = client.get(ROUTE, headers={"Authorization": f"Bearer tbk_{uuid.uuid4().hex}"})

    assert response.status_code == 401
