"""Every error is the contract's JSON: code, status, error, message; errors on a 422."""

import logging
import re
import uuid
from http import HTTPStatus

import pytest
from sqlalchemy import text

from tapbank import create_app
from tapbank.extensions import db
from tests.conftest import make_config

MAX_BODY = 16 * 1024


def assert_error_shape(response, code: int) -> dict:
    """The response is a JSON error in the contract's shape with this status; returns its body."""
    assert response.status_code == code
    assert response.is_json
    body = response.json
    assert body["code"] == code
    assert body["status"] == HTTPStatus(code).phrase
    assert re.fullmatch(r"[a-z][a-z0-9_]*", body["error"])
    assert isinstance(body["message"], str) and body["message"].strip()
    assert "\n" not in body["message"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("GET", "/api/v1/no-such-thing", {}, 404),
        ("GET", "/api/v1/accounts", {}, 401),
        ("GET", "/api/v1/accounts/5f0b3c1e-8d2a-4c6b-9f1e-2a7d4e9c0b13", "admin", 404),
        ("DELETE", "/api/v1/accounts", "admin", 405),
        ("GET", "/api/v1/accounts?limit=0", "admin", 422),
    ],
)
def test_every_error_has_code_status_error_and_message(
    client, admin_headers, method, path, headers, code
):
    headers = admin_headers if headers == "admin" else headers
    assert_error_shape(client.open(path, method=method, headers=headers), code)


def test_an_unknown_route_is_a_json_404(client):
    body = assert_error_shape(client.get("/no/such/route"), 404)
    assert body["error"] == "not_found"


def test_a_method_not_allowed_keeps_the_allow_header(client, admin_headers):
    response = client.delete("/api/v1/accounts", headers=admin_headers)

    assert_error_shape(response, 405)
    allowed = {method.strip() for method in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_a_body_over_16_kib_is_too_large(client, admin_headers):
    body = '{"owner_name": "' + "x" * MAX_BODY + '"}'
    response = client.post(
        "/api/v1/accounts", data=body, content_type="application/json", headers=admin_headers
    )

    assert_error_shape(response, 413)
    assert client.get("/api/v1/accounts", headers=admin_headers).json["items"] == []


def test_a_body_just_under_16_kib_is_read(client, admin_headers):
    body = '{"owner_name": "' + "x" * (MAX_BODY - 100) + '"}'
    response = client.post(
        "/api/v1/accounts", data=body, content_type="application/json", headers=admin_headers
    )

    body = assert_error_shape(response, 422)  # read and validated: the name is too long
    assert "owner_name" in body["errors"]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"owner_name": ', "application/json"),
        ("[" * 8000 + "]" * 8000, "application/json"),  # deeper than the JSON parser goes
        ("{'owner_name': 'Ada'}", "application/json"),
        ('{"owner_name": "Ada"}', "text/plain"),
        ("owner_name=Ada", "application/x-www-form-urlencoded"),
        ("null", "application/json"),
    ],
)
def test_a_body_that_is_not_json_is_a_bad_request(client, admin_headers, data, content_type):
    response = client.post(
        "/api/v1/accounts", data=data, content_type=content_type, headers=admin_headers
    )

    body = assert_error_shape(response, 400)
    assert body["error"] == "invalid_json"
    assert client.get("/api/v1/accounts", headers=admin_headers).json["items"] == []


def test_an_invalid_field_is_a_422_naming_the_field(client, admin_headers):
    response = client.post(
        "/api/v1/accounts",
        json={"owner_name": "Ada", "opening_deposit": 12.5},
        headers=admin_headers,
    )

    body = assert_error_shape(response, 422)
    assert set(body["errors"]) == {"opening_deposit"}
    assert all(isinstance(message, str) for message in body["errors"]["opening_deposit"])
    assert "opening_deposit" in body["message"]


def test_a_missing_field_is_a_422_naming_the_field(client, admin_headers):
    response = client.post("/api/v1/accounts", json={"bank_name": "x"}, headers=admin_headers)
    body = assert_error_shape(response, 422)
    assert set(body["errors"]) == {"owner_name"}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/accounts", {"owner_name": "Ada\x00"}, "owner_name"),
        ("/api/v1/accounts", {"owner_name": "Ada", "bank_name": "\x00"}, "bank_name"),
        ("/api/v1/accounts/{id}/deposits", {"amount": 5, "memo": "a\x00b"}, "memo"),
        # A lone surrogate: valid JSON (an escape), text UTF-8 cannot carry.
        ("/api/v1/accounts", {"owner_name": "Ada\ud800"}, "owner_name"),
        ("/api/v1/accounts", {"owner_name": "Ada", "bank_name": "\udfff"}, "bank_name"),
        ("/api/v1/accounts/{id}/deposits", {"amount": 5, "memo": "\ud83d"}, "memo"),
    ],
)
def test_a_string_postgresql_cannot_store_is_a_422_naming_the_field(
    factory, client, admin_headers, path, body, field
):
    account = factory.account("Bob", deposit=10)

    response = client.post(path.format(id=account.id), json=body, headers=admin_headers)

    assert set(assert_error_shape(response, 422)["errors"]) == {field}
    assert len(client.get("/api/v1/accounts", headers=admin_headers).json["items"]) == 1
    assert factory.balance(account) == 10


def test_an_unknown_field_is_a_422_naming_the_field(client, admin_headers):
    response = client.post(
        "/api/v1/accounts", json={"owner_name": "Ada", "nickname": "A"}, headers=admin_headers
    )

    body = assert_error_shape(response, 422)
    assert set(body["errors"]) == {"nickname"}
    assert client.get("/api/v1/accounts", headers=admin_headers).json["items"] == []


def test_an_error_body_never_shows_a_key(factory, client):
    account = factory.account("Ada")
    response = client.get("/api/v1/accounts", headers=account.headers)
    assert_error_shape(response, 403)
    assert account.key not in response.get_data(as_text=True)


# 500


@pytest.fixture(scope="module")
def failing_app(database_url):
    """An app with test-only routes that fail the way real code can."""
    failing = create_app(make_config(database_url))

    @failing.get("/test-only/raises")
    def raises():
        raise RuntimeError("boom: SELECT api_key_digest FROM accounts WHERE secret")

    @failing.get("/test-only/bad-sql")
    def bad_sql():
        db.session.execute(text("SELECT secret_column FROM no_such_table"))
        return {}

    yield failing
    with failing.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/test-only/raises", "/test-only/bad-sql"])
def test_an_unexpected_error_is_a_500_with_a_request_id_and_no_internals(
    app, failing_app, caplog, path
):
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get(path)

    body = assert_error_shape(response, 500)
    text_sent = response.get_data(as_text=True)
    for internal in ("Traceback", "RuntimeError", "SELECT", "secret", "no_such_table", "boom"):
        assert internal not in text_sent
    assert body["request_id"]
    assert body["request_id"] in caplog.text


def test_a_500_carries_the_callers_request_id(app, failing_app, caplog):
    request_id = uuid.uuid4().hex
    with caplog.at_level(logging.ERROR):
        response = failing_app.test_client().get(
            "/test-only/raises", headers={"X-Request-ID": request_id}
        )

    assert assert_error_shape(response, 500)["request_id"] == request_id
    assert request_id in caplog.text


def test_the_app_keeps_serving_after_a_database_error(app, failing_app, admin_headers):
    client = failing_app.test_client()
    assert client.get("/test-only/bad-sql").status_code == 500
    assert client.get("/api/v1/accounts", headers=admin_headers).status_code == 200


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("trace-me.42:a_B", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ('quote"d', False),
        ("back\\slash", False),
        ("with space", False),
        ("ünïcode", False),
    ],
    ids=["plain", "128", "129", "quote", "backslash", "space", "unicode"],
)
def test_a_callers_request_id_is_kept_only_when_it_is_safe_to_log_as_it_is(client, sent, kept):
    response = client.get("/healthz", headers={"X-Request-ID": sent})

    assert (response.headers["X-Request-ID"] == sent) is kept
    assert re.fullmatch(r"[A-Za-z0-9._:-]{1,128}", response.headers["X-Request-ID"])
