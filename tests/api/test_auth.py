"""Bearer-key auth: 401 and 403, the record of failures, and the per-address rate limit."""

import base64
import json
import uuid
from datetime import datetime

import pytest
from sqlalchemy import text

from tapbank.extensions import db

LIMIT = 20  # failed authentications per address per minute, from the contract


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def from_address(address: str) -> dict:
    """The WSGI environ of a request from this client address (a label; no network is used)."""
    return {"REMOTE_ADDR": address}


def auth_failures(client, admin_headers, **query) -> list[dict]:
    response = client.get("/api/v1/auth-failures", headers=admin_headers, query_string=query)
    assert response.status_code == 200, response.json
    return response.json["items"]


def fail_auth(client, path: str, address: str, times: int = 1) -> list[int]:
    """Send requests with a wrong key from address; returns their status codes."""
    return [
        client.get(
            path, headers=bearer(f"tbk_wrong-{n}"), environ_base=from_address(address)
        ).status_code
        for n in range(times)
    ]


@pytest.fixture
def account_path(factory):
    return f"/api/v1/accounts/{factory.account('Ada').id}"


# 401 and 403


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json["code"] == 401
    assert response.json["error"] == "unauthorized"


def test_a_request_without_a_key_is_unauthorized(client, account_path):
    assert_unauthorized(client.get(account_path))


def test_a_request_with_a_wrong_key_is_unauthorized(client, account_path):
    assert_unauthorized(client.get(account_path, headers=bearer("tbk_" + "x" * 43)))


@pytest.mark.parametrize(
    "header",
    ["Token abc", "Bearer", "Bearer ", "Basic dXNlcjpwYXNzd29yZA==", "tbk_no-scheme", "Bearerabc"],
)
def test_a_malformed_authorization_header_is_unauthorized(client, account_path, header):
    assert_unauthorized(client.get(account_path, headers={"Authorization": header}))


def test_a_valid_key_is_accepted_whatever_the_case_of_its_scheme(factory, client):
    account = factory.account("Ada")
    headers = {"Authorization": f"bearer {account.key}"}
    assert client.get(f"/api/v1/accounts/{account.id}", headers=headers).status_code == 200


def test_a_valid_key_after_more_than_one_space_is_accepted(factory, client):
    # RFC 7235: the scheme and the credentials are separated by one or more spaces.
    account = factory.account("Ada")
    headers = {"Authorization": f"Bearer   {account.key}"}
    assert client.get(f"/api/v1/accounts/{account.id}", headers=headers).status_code == 200


def test_a_refusal_says_whether_a_key_was_sent(client, account_path):
    no_key = client.get(account_path)
    wrong_key = client.get(account_path, headers=bearer("tbk_wrong"))

    assert_unauthorized(no_key)
    assert_unauthorized(wrong_key)
    assert no_key.json["message"] != wrong_key.json["message"]


def test_the_admin_key_from_the_configuration_is_the_operators(app, client):
    assert (
        client.get("/api/v1/accounts", headers=bearer(app.config["TAPBANK_ADMIN_KEY"])).status_code
        == 200
    )
    assert_unauthorized(client.get("/api/v1/accounts", headers=bearer("tbadmin_guess")))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/accounts", None),
        ("POST", "/api/v1/accounts", {"owner_name": "Eve"}),
        ("PATCH", "/api/v1/accounts/{id}", {"status": "frozen"}),
        ("POST", "/api/v1/accounts/{id}/deposits", {"amount": 100}),
        ("GET", "/api/v1/auth-failures", None),
    ],
)
def test_an_account_key_on_an_admin_route_is_forbidden(factory, client, method, path, body):
    account = factory.account("Ada")
    response = client.open(
        path.format(id=account.id), method=method, json=body, headers=account.headers
    )

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert factory.balance(account) == 0


def test_an_admin_route_without_a_key_is_unauthorized_not_forbidden(client):
    assert_unauthorized(client.get("/api/v1/accounts"))


# The record of failures


def test_every_failed_authentication_is_recorded_with_a_fingerprint_never_the_key(
    client, admin_headers, account_path
):
    wrong_key = "tbk_" + uuid.uuid4().hex + uuid.uuid4().hex
    client.get(account_path, headers=bearer(wrong_key), environ_base=from_address("10.0.0.7"))
    client.post(
        "/api/v1/accounts",
        json={},
        headers=bearer(wrong_key),
        environ_base=from_address("10.0.0.8"),
    )
    client.get(account_path, environ_base=from_address("10.0.0.9"))

    response = client.get("/api/v1/auth-failures", headers=admin_headers)

    assert response.status_code == 200
    assert wrong_key not in response.get_data(as_text=True)
    assert wrong_key[len("tbk_") :] not in response.get_data(as_text=True)
    no_key, posted, wrong = response.json["items"]  # newest first
    assert (wrong["client_address"], wrong["method"]) == ("10.0.0.7", "GET")
    assert wrong["route"] == "/api/v1/accounts/<uuid:account_id>"  # the route, not the path
    assert (posted["client_address"], posted["method"], posted["route"]) == (
        "10.0.0.8",
        "POST",
        "/api/v1/accounts",
    )
    assert wrong["key_fingerprint"]
    assert len(wrong["key_fingerprint"]) <= 16
    assert wrong["key_fingerprint"] not in wrong_key
    assert posted["key_fingerprint"] == wrong["key_fingerprint"]
    assert no_key["client_address"] == "10.0.0.9"
    assert no_key["key_fingerprint"] is None
    for failure in (no_key, posted, wrong):
        occurred_at = datetime.fromisoformat(failure["occurred_at"])
        assert occurred_at.utcoffset().total_seconds() == 0


def test_a_failure_from_a_client_the_server_gives_no_address_is_recorded_as_unknown(
    client, admin_headers, account_path
):
    client.get(account_path, headers=bearer("tbk_wrong"), environ_base=from_address(""))

    (failure,) = auth_failures(client, admin_headers)
    assert failure["client_address"] == "unknown"


def test_different_keys_have_different_fingerprints(client, admin_headers, account_path):
    client.get(account_path, headers=bearer("tbk_first-wrong-key"))
    client.get(account_path, headers=bearer("tbk_second-wrong-key"))

    second, first = auth_failures(client, admin_headers)

    assert first["key_fingerprint"] != second["key_fingerprint"]


def test_a_rotated_key_that_is_used_again_is_a_recorded_failure(factory, client, admin_headers):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"
    client.post(f"{path}/api-keys", headers=account.headers)

    assert_unauthorized(client.get(path, headers=account.headers))
    [failure] = auth_failures(client, admin_headers)
    assert failure["key_fingerprint"]
    assert failure["key_fingerprint"] not in account.key


def test_successful_requests_are_not_recorded_as_failures(factory, client, admin_headers):
    account = factory.account("Ada")
    client.get(f"/api/v1/accounts/{account.id}", headers=account.headers)
    assert auth_failures(client, admin_headers) == []


def test_a_failures_cursor_the_api_did_not_give_out_is_refused(client, admin_headers):
    forged = [json.dumps(values).encode() for values in (["x"], [str(2**63)], [str(-(2**64))])]
    for cursor in ["nope", *(base64.urlsafe_b64encode(raw).decode() for raw in forged)]:
        response = client.get(
            "/api/v1/auth-failures", headers=admin_headers, query_string={"cursor": cursor}
        )
        assert response.status_code == 422, cursor
        assert "cursor" in response.json["errors"]


def test_the_record_of_failures_is_paginated(client, admin_headers, account_path):
    fail_auth(client, account_path, "10.0.0.7", times=3)

    first = client.get("/api/v1/auth-failures", headers=admin_headers, query_string={"limit": 2})
    second = client.get(
        "/api/v1/auth-failures",
        headers=admin_headers,
        query_string={"limit": 2, "cursor": first.json["next_cursor"]},
    )

    assert len(first.json["items"]) == 2
    assert len(second.json["items"]) == 1
    assert second.json["next_cursor"] is None
    ids = [item["id"] for item in first.json["items"] + second.json["items"]]
    assert ids == sorted(ids, reverse=True)


# The rate limit


def test_more_than_twenty_failures_from_one_address_get_429_with_retry_after(client, account_path):
    assert fail_auth(client, account_path, "10.0.0.7", times=LIMIT) == [401] * LIMIT

    response = client.get(
        account_path, headers=bearer("tbk_wrong"), environ_base=from_address("10.0.0.7")
    )

    assert response.status_code == 429
    assert response.json["code"] == 429
    assert response.json["error"] == "too_many_failed_authentications"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize(("oldest_age", "retry_after"), [(30, 30), (59, 1)])
def test_retry_after_is_the_time_until_the_oldest_counted_failure_leaves_the_window(
    client, account_path, oldest_age, retry_after
):
    # Ageing is done just before the request: a few milliseconds pass, never a second.
    fail_auth(client, account_path, "10.0.0.7", times=LIMIT)
    db.session.execute(
        text("UPDATE auth_failures SET occurred_at = now() - make_interval(secs => :age)"),
        {"age": oldest_age},
    )
    db.session.commit()

    response = client.get(
        account_path, headers=bearer("tbk_wrong"), environ_base=from_address("10.0.0.7")
    )

    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) == retry_after


def test_the_rate_limit_counts_an_address_too_long_to_store_in_full(client, account_path):
    address = "fd00:" + "a" * 75  # a label only; longer than the 64 characters recorded
    assert fail_auth(client, account_path, address, times=LIMIT) == [401] * LIMIT
    assert fail_auth(client, account_path, address) == [429]


def test_the_rate_limit_leaves_other_addresses_alone(client, admin_headers, account_path):
    fail_auth(client, account_path, "10.0.0.7", times=LIMIT + 1)

    assert fail_auth(client, account_path, "10.0.0.8") == [401]
    other = client.get(account_path, headers=admin_headers, environ_base=from_address("10.0.0.8"))
    assert other.status_code == 200


def test_an_ipv6_client_cannot_walk_its_64_past_the_limit(client, admin_headers, account_path):
    walked = [fail_auth(client, account_path, f"2001:db8:1:2::{n:x}")[0] for n in range(LIMIT)]
    assert walked == [401] * LIMIT

    assert fail_auth(client, account_path, "2001:db8:1:2:ffff:ffff:ffff:fffe") == [429]
    assert fail_auth(client, account_path, "2001:db8:1:3::1") == [401]  # another /64
    recorded = {item["client_address"] for item in auth_failures(client, admin_headers, limit=200)}
    assert "2001:db8:1:2::13" in recorded  # each exact address is still recorded


def test_an_ipv4_client_seen_as_ipv6_is_counted_as_its_ipv4_address(client, account_path):
    assert fail_auth(client, account_path, "10.0.0.7", times=LIMIT) == [401] * LIMIT
    assert fail_auth(client, account_path, "::ffff:10.0.0.7") == [429]
    assert fail_auth(client, account_path, "::ffff:10.0.0.8") == [401]


def test_failures_past_the_limit_cost_no_insert(client, admin_headers, account_path):
    fail_auth(client, account_path, "10.0.0.7", times=LIMIT)

    assert fail_auth(client, account_path, "10.0.0.7", times=5) == [429] * 5

    assert len(auth_failures(client, admin_headers, limit=200)) == LIMIT


def test_a_valid_key_is_served_from_an_address_past_the_limit(factory, client):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"
    assert fail_auth(client, path, "10.0.0.7", times=LIMIT + 1)[-1] == 429

    served = client.get(path, headers=account.headers, environ_base=from_address("10.0.0.7"))

    assert served.status_code == 200
    assert fail_auth(client, path, "10.0.0.7") == [429]


def test_successful_requests_do_not_count_toward_the_rate_limit(factory, client):
    account = factory.account("Ada")
    path = f"/api/v1/accounts/{account.id}"
    statuses = {
        client.get(path, headers=account.headers, environ_base=from_address("10.0.0.7")).status_code
        for _ in range(LIMIT + 5)
    }
    assert statuses == {200}


def test_failures_older_than_a_minute_no_longer_count(client, account_path):
    fail_auth(client, account_path, "10.0.0.7", times=LIMIT)
    db.session.execute(text("UPDATE auth_failures SET occurred_at = now() - interval '61 seconds'"))
    db.session.commit()

    assert fail_auth(client, account_path, "10.0.0.7") == [401]


def test_every_server_process_counts_the_same_failures(client, other_client, account_path):
    assert fail_auth(client, account_path, "10.0.0.7", times=LIMIT // 2) == [401] * (LIMIT // 2)
    assert fail_auth(other_client, account_path, "10.0.0.7", times=LIMIT // 2) == [401] * (
        LIMIT // 2
    )

    assert fail_auth(client, account_path, "10.0.0.7") == [429]
    assert fail_auth(other_client, account_path, "10.0.0.7") == [429]
