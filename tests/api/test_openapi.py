"""The OpenAPI document: complete for the contract, browsable offline, and true of the app."""

import hashlib
import json
import re
import uuid
from urllib.parse import urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from tapbank import create_app
from tapbank.api.idempotent import HEADER, PRINTABLE_ASCII
from tapbank.extensions import db
from tapbank.keys import key_digest
from tapbank.ledger.accounts import OPENABLE_TYPES
from tapbank.models import (
    Account,
    AccountStatus,
    Direction,
    HalfStatus,
    JobId,
    TapStatus,
    TransferKind,
    WorkerState,
)
from tapbank.taps.reasons import Reason
from tests.conftest import ADMIN_KEY, make_config
from tests.factories import Factory

# Every /api/v1 route of the contract (CONTRACT.md), as method and OpenAPI path.
CONTRACT_ROUTES = [
    ("post", "/api/v1/accounts"),
    ("get", "/api/v1/accounts"),
    ("get", "/api/v1/accounts/{account_id}"),
    ("patch", "/api/v1/accounts/{account_id}"),
    ("post", "/api/v1/accounts/{account_id}/deposits"),
    ("post", "/api/v1/accounts/{account_id}/api-keys"),
    ("get", "/api/v1/accounts/{account_id}/transfers"),
    ("put", "/api/v1/taps/{key}/sender"),
    ("put", "/api/v1/taps/{key}/receiver"),
    ("get", "/api/v1/taps/{key}"),
    ("get", "/api/v1/reconciliation-failures"),
    ("get", "/api/v1/auth-failures"),
    ("get", "/api/v1/scheduler"),
    ("post", "/api/v1/send/"),
    ("post", "/api/v1/recieve/"),
    ("get", "/api/v1/transfers"),
]
# AISBackend's routes (contract v2): deprecated, and, with GET /taps/{key}, they take api_key.
LEGACY_ROUTES = {"/api/v1/send/", "/api/v1/recieve/"}
API_KEY_ROUTES = {("get", "/api/v1/taps/{key}")} | {("post", path) for path in LEGACY_ROUTES}
TAP_ROUTES = {path for _, path in CONTRACT_ROUTES if path.startswith("/api/v1/taps/")}
PHONE_ROUTES = TAP_ROUTES | LEGACY_ROUTES
# Every field the document shows as an enum, with the members whose values it must list.
SHOWN_ENUMS = {
    ("Account", "account_type"): OPENABLE_TYPES,
    ("Account", "status"): AccountStatus,
    ("AccountCreate", "account_type"): OPENABLE_TYPES,
    ("AccountPatch", "status"): AccountStatus,
    ("Half", "status"): HalfStatus,
    ("HistoryItem", "direction"): Direction,
    ("HistoryItem", "kind"): TransferKind,
    ("Job", "id"): JobId,
    ("Reason", "reason"): Reason,
    ("Tap", "status"): TapStatus,
    ("Transfer", "kind"): TransferKind,
    ("Worker", "state"): WorkerState,
}


@pytest.fixture
def document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_is_openapi_3_1(document):
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"] == "tapbank"
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
    }


def enums_in(document) -> dict[tuple[str, str], list]:
    """Every enum the document's component schemas show, by schema and property."""
    return {
        (name, field): prop["enum"]
        for name, schema in document["components"]["schemas"].items()
        for field, prop in schema.get("properties", {}).items()
        if "enum" in prop
    }


def test_every_enum_the_document_shows_lists_every_value_of_its_enum(document):
    shown = enums_in(document)
    expected = {place: [member.value for member in enum] for place, enum in SHOWN_ENUMS.items()}
    assert shown == expected


@pytest.mark.parametrize(("method", "path"), CONTRACT_ROUTES, ids=lambda v: v)
def test_every_contract_route_is_documented(document, method, path):
    operation = document["paths"].get(path, {}).get(method)
    assert operation is not None, f"{method.upper()} {path} is not in the document"
    assert operation.get("summary"), "a one-line summary from the view's docstring"
    if (method, path) in API_KEY_ROUTES:
        assert operation.get("security") == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    else:
        assert operation.get("security") == [{"bearerAuth": []}]
    assert operation.get("deprecated", False) == (path in LEGACY_ROUTES)


def test_the_api_key_header_is_a_security_scheme(document):
    assert document["components"]["securitySchemes"]["apiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "api_key",
    }


def test_every_api_route_the_app_serves_is_documented(app, document):
    served = {
        (method.lower(), re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    }
    assert served <= documented, served - documented


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_a_half_is_documented_with_its_answers_and_an_example(document, side):
    operation = document["paths"][f"/api/v1/taps/{{key}}/{side}"]["put"]
    assert {"200", "201", "409", "422"} <= set(operation["responses"])
    body = operation["requestBody"]["content"]["application/json"]
    assert body["example"]["amount"] == 1250
    schema_name = body["schema"]["$ref"].rsplit("/", 1)[-1]
    schema = document["components"]["schemas"][schema_name]
    assert schema["additionalProperties"] is False
    expected = {"amount", "currency", "device", "tapped_at"}
    if side == "receiver":
        expected.add("sender_account_id")
    assert set(schema["required"]) == expected
    assert schema["properties"]["amount"]["type"] == "integer"


@pytest.mark.parametrize("path", ["/api/v1/accounts", "/api/v1/accounts/{account_id}/deposits"])
def test_the_operators_posts_document_their_idempotency_key(document, path):
    operation = document["paths"][path]["post"]
    (header,) = [p for p in operation.get("parameters", []) if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["required"] is False
    assert header["schema"]["pattern"] == "^[ -~]{1,255}$"
    assert {"201", "409", "422"} <= set(operation["responses"])
    assert "Retry-After" in operation["responses"]["409"]["headers"]


def test_a_replayed_opening_is_documented_with_a_null_key(document):
    api_key = document["components"]["schemas"]["AccountCreated"]["properties"]["api_key"]
    assert "null" in api_key["type"]


def test_the_docs_page_is_swagger_ui_with_every_asset_served_locally(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "SwaggerUIBundle" in html
    assert "/api/openapi.json" in html
    for url in re.findall(r"https?://[^\s\"'<>)]+", html):
        assert urlsplit(url).hostname == "localhost", f"an external reference: {url}"
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    scripts = [asset for asset in assets if asset.endswith(".js")]
    assert scripts, "Swagger UI's scripts are referenced"
    for asset in assets:
        assert not urlsplit(asset).netloc, f"an asset from another host: {asset}"
    bundle = next(asset for asset in scripts if "swagger-ui-bundle" in asset)
    fetched = client.get(bundle)
    assert fetched.status_code == 200
    assert len(fetched.data) > 100_000, "the real Swagger UI bundle, not a stub"


# -- schemathesis over the whole document -------------------------------------------------------


@pytest.fixture
def fuzzed_app(app, database_url):
    """The app for the run, with the per-address limit on failed keys out of the way.

    The run sends requests without a key on purpose; the limit has tests of its own.
    """
    fuzzed = create_app(make_config(database_url, TAPBANK_AUTH_FAILURE_LIMIT=10**9))
    yield fuzzed
    with fuzzed.app_context():
        db.session.remove()
        db.engine.dispose()


# The phone's key is set by the `known` fixture, so that cases made at collection can carry it.
PHONE_KEY = "tbk_the-phone-key-of-the-schemathesis-run"


@pytest.fixture
def known(fuzzed_app, admin_headers):
    """Accounts and a settled tap to aim at, and the phone that sends halves with PHONE_KEY."""
    factory = Factory(fuzzed_app, fuzzed_app.test_client(), admin_headers)
    phone = factory.account("Phone", deposit=1_000_000)
    other = factory.account("Other", deposit=1_000_000)
    payee = factory.account("Payee")
    tap_key = uuid.uuid4()
    assert factory.send(tap_key, phone).status_code == 201
    assert factory.receive(tap_key, payee, phone).status_code == 201
    with fuzzed_app.app_context():
        account = db.session.get(Account, uuid.UUID(phone.id))
        account.api_key_digest = key_digest(PHONE_KEY)
        db.session.commit()
    return {"account_id": other.id, "key": str(tap_key)}


def _document_app():
    """An app that only serves its document, so the run is collected before any fixture runs.

    (schemathesis.pytest.from_fixture would load it from a fixture, but it sets Node._nodeid,
    which pytest 9.2 no longer has.) It never connects to its database: every request of the
    run goes to the fuzzed_app fixture's app.
    """
    return create_app(make_config("postgresql+psycopg://unused@127.0.0.1:9/unused"))


# As many examples as the hypothesis profile tests/conftest.py loaded says: a few in `make
# test`, many fresh ones in `make fuzz`.
PROFILE = settings()
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", _document_app())
schema.config.generation.update(
    max_examples=PROFILE.max_examples, deterministic=PROFILE.derandomize
)


@schema.auth(refresh_interval=None)
class RouteKeys:
    """A phone's own key on the tap and AISBackend's routes (the operator may not send halves),
    the admin's else.

    Given as auth, not as plain headers, so that the cases meant to go without a key do.
    """

    def get(self, case, context):
        return PHONE_KEY if context.operation.path in PHONE_ROUTES else ADMIN_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schema.parametrize()
@pytest.mark.fuzz
@settings(
    max_examples=PROFILE.max_examples,
    deadline=None,
    derandomize=PROFILE.derandomize,
    database=PROFILE.database,
    # The accounts and keys are made once per operation on purpose; examples may share them.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_app_keeps_every_promise_of_its_document(case, fuzzed_app, known):
    """No 5xx, and every answer fits the document, on generated valid and invalid requests."""
    for name, value in (case.path_parameters or {}).items():
        if not _is_uuid(value):
            continue  # a malformed id is the case's point
        if case.method == "PUT":
            # One key per body: a repeated body is a replay (200), a new one a new tap (201).
            body = json.dumps(case.body, sort_keys=True, default=str)
            # A random key's version (4), as the document asks, still one per body.
            digest = uuid.uuid5(uuid.NAMESPACE_OID, body).bytes
            case.path_parameters[name] = str(uuid.UUID(bytes=digest, version=4))
        elif name in known and value[-1] in "02468ace":
            # Half the well-formed ids become real ones, so the found answers are checked too.
            case.path_parameters[name] = known[name]
    _one_idempotency_key_per_body(case)
    excluded = []
    if (
        _has_whole_float(case.body)
        or _has_text_no_database_takes(case.body)
        or (case.query or {}).get("cursor")
        or case.operation.path in LEGACY_ROUTES
    ):
        # Rules the document cannot state: 12.0 is an integer to JSON Schema but a float to the
        # contract (422); text with NUL or a lone surrogate is a string to JSON Schema but no
        # text PostgreSQL stores (422); a cursor must be one the API gave out; AISBackend's
        # user_id must be the caller's own and an amount fit its currency. No 5xx still holds.
        excluded.append(checks.positive_data_acceptance)
    case.call_and_validate(app=fuzzed_app, excluded_checks=excluded)


def _one_idempotency_key_per_body(case) -> None:
    """A well-formed Idempotency-Key made the body's own: the same key with another body is a
    422 the document cannot state."""
    key = (case.headers or {}).get(HEADER)
    if isinstance(key, str) and PRINTABLE_ASCII.match(key):
        body = json.dumps(case.body, sort_keys=True, default=str)
        case.headers[HEADER] = f"{key[:180]}-{hashlib.sha256(body.encode()).hexdigest()}"


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _has_text_no_database_takes(value) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate
            return True
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_text_no_database_takes(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_text_no_database_takes(item) for item in value)
    return False


def _has_whole_float(value) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    if isinstance(value, dict):
        return any(_has_whole_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_whole_float(item) for item in value)
    return False
