"""The taps API: each phone's half, replays and conflicts, the tap's status and who may see it."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from tapbank.extensions import db
from tapbank.ledger.accounts import MAX_DEPOSIT_MINOR
from tapbank.models import Half, Tap, Transfer
from tapbank.models.types import time_ordered_id
from tests.factories import Factory

MISSING = object()
SIDES = ["sender", "receiver"]
MAX_BODY = 16 * 1024


def tap_url(key, side: str | None = None) -> str:
    return f"/api/v1/taps/{key}" + (f"/{side}" if side else "")


def half_body(factory: Factory, side: str, payer, **changes) -> dict:
    """A valid half for side; changes replace fields (MISSING drops one)."""
    body = factory.sender_body() if side == "sender" else factory.receiver_body(payer)
    for name, value in changes.items():
        if value is MISSING:
            body.pop(name)
        else:
            body[name] = value
    return body


def put_half(client, side: str, key, account, body):
    return client.put(tap_url(key, side), json=body, headers=account.headers)


def stored_halves(key) -> list[Half]:
    """The halves of key as the database holds them now."""
    query = select(Half).where(Half.tap_key == key).order_by(Half.id)
    return list(db.session.scalars(query.execution_options(populate_existing=True)))


def half_columns(half: Half) -> tuple:
    return (
        half.id,
        half.side,
        half.account_id,
        half.sender_account_id,
        half.amount,
        half.currency,
        half.device_os,
        half.device_model,
        half.tapped_at,
        half.received_at,
    )


def assert_nothing_stored(client, key, account) -> None:
    """No tap, no half: not in the API and not in any table."""
    response = client.get(tap_url(key), headers=account.headers)
    assert response.status_code == 404, response.json
    assert db.session.scalar(select(func.count()).select_from(Tap)) == 0
    assert db.session.scalar(select(func.count()).select_from(Half)) == 0


def assert_error(response, code: int, error: str | None = None) -> dict:
    """The contract's error body, with the given status."""
    assert response.status_code == code, response.get_data(as_text=True)
    body = response.json
    assert body["code"] == code
    assert isinstance(body["status"], str) and body["status"]
    assert isinstance(body["message"], str) and body["message"]
    if error is not None:
        assert body["error"] == error
    return body


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def payer(factory):
    return factory.account("Ada", deposit=10_000)


@pytest.fixture
def payee(factory):
    return factory.account("Bob")


@pytest.fixture
def stranger(factory):
    return factory.account("Eve", deposit=10_000)


# -- validation: 422 naming the field, and nothing stored -------------------------------------

INVALID_FIELDS = [
    pytest.param("amount", 12.5, ("amount",), id="amount-float"),
    pytest.param("amount", 12.0, ("amount",), id="amount-whole-float"),
    pytest.param("amount", "12", ("amount",), id="amount-string"),
    pytest.param("amount", True, ("amount",), id="amount-true"),
    pytest.param("amount", False, ("amount",), id="amount-false"),
    pytest.param("amount", None, ("amount",), id="amount-null"),
    pytest.param("amount", 0, ("amount",), id="amount-zero"),
    pytest.param("amount", -1250, ("amount",), id="amount-negative"),
    pytest.param("amount", 10**30, ("amount",), id="amount-huge"),
    pytest.param("amount", MISSING, ("amount",), id="amount-missing"),
    pytest.param("currency", "usd", ("currency",), id="currency-lowercase"),
    pytest.param("currency", "US", ("currency",), id="currency-two-letters"),
    pytest.param("currency", "USDD", ("currency",), id="currency-four-letters"),
    pytest.param("currency", "USD\n", ("currency",), id="currency-trailing-newline"),
    pytest.param("currency", 840, ("currency",), id="currency-number"),
    pytest.param("currency", MISSING, ("currency",), id="currency-missing"),
    pytest.param("device", MISSING, ("device",), id="device-missing"),
    pytest.param("device", "ios", ("device",), id="device-not-an-object"),
    pytest.param("device", {"model": "Pixel 9"}, ("device", "os"), id="os-missing"),
    pytest.param("device", {"os": ""}, ("device", "os"), id="os-empty"),
    pytest.param("device", {"os": "x" * 256}, ("device", "os"), id="os-too-long"),
    pytest.param("device", {"os": "ios\x00"}, ("device", "os"), id="os-with-nul"),
    pytest.param("device", {"os": "ios", "model": "m" * 101}, ("device", "model"), id="model-long"),
    pytest.param("device", {"os": "ios", "model": "\x00"}, ("device", "model"), id="model-nul"),
    pytest.param(
        "device", {"os": "ios", "colour": "red"}, ("device", "colour"), id="device-unknown"
    ),
    pytest.param("tapped_at", MISSING, ("tapped_at",), id="tapped_at-missing"),
    pytest.param("tapped_at", "yesterday", ("tapped_at",), id="tapped_at-not-a-time"),
    pytest.param("tapped_at", 1764158400, ("tapped_at",), id="tapped_at-a-number"),
    pytest.param("tapped_at", "2026-11-26", ("tapped_at",), id="tapped_at-a-date"),
    pytest.param("tapped_at", "2026-11-26T12:00:00", ("tapped_at",), id="tapped_at-naive"),
    pytest.param("tapped_at", "0001-01-01T00:00:00+14:00", ("tapped_at",), id="tapped_at-year-0"),
    pytest.param("tapped_at", "9999-12-31T23:59:59-14:00", ("tapped_at",), id="tapped_at-10000"),
    pytest.param("tip", 100, ("tip",), id="unknown-field"),
]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(("field", "value", "path"), INVALID_FIELDS)
def test_an_invalid_half_is_refused_naming_the_field_and_stores_nothing(
    client, factory, payer, side, field, value, path
):
    key = uuid.uuid4()
    response = put_half(client, side, key, payer, half_body(factory, side, payer, **{field: value}))
    body = assert_error(response, 422, "validation_failed")
    errors = body["errors"]
    for name in path:
        assert name in errors, body
        errors = errors[name]
    assert path[0] in body["message"]
    assert_nothing_stored(client, key, payer)


@pytest.mark.parametrize("side", SIDES)
def test_a_device_os_of_255_characters_is_kept_whole(client, factory, payer, side):
    key = uuid.uuid4()
    os_name = "Linux-6.8.0-1015-x86_64-with-glibc2.39-" + "x" * 216
    body = half_body(factory, side, payer, device={"os": os_name})
    response = put_half(client, side, key, payer, body)
    assert response.status_code == 201, response.json
    assert response.json[side]["device"]["os"] == os_name


@pytest.mark.parametrize(
    ("value", "reason"),
    [(MISSING, "missing"), ("not-a-uuid", "not a uuid"), (12, "a number"), (None, "null")],
)
def test_a_receiver_half_must_name_the_payer_by_id(client, factory, payer, payee, value, reason):
    key = uuid.uuid4()
    body = half_body(factory, "receiver", payer, sender_account_id=value)
    body = assert_error(put_half(client, "receiver", key, payee, body), 422, "validation_failed")
    assert "sender_account_id" in body["errors"], reason
    assert_nothing_stored(client, key, payee)


def test_a_sender_half_may_not_name_another_payer(client, factory, payer, stranger):
    key = uuid.uuid4()
    body = half_body(factory, "sender", payer, sender_account_id=stranger.id)
    body = assert_error(put_half(client, "sender", key, payer, body), 422, "validation_failed")
    assert "sender_account_id" in body["errors"]
    assert_nothing_stored(client, key, payer)


@pytest.mark.parametrize("side", SIDES)
def test_an_amount_over_the_maximum_is_refused_and_the_maximum_itself_is_taken(
    app, client, factory, payer, side
):
    maximum = app.config["TAPBANK_MAX_TRANSFER_MINOR"]
    key = uuid.uuid4()
    over = half_body(factory, side, payer, amount=maximum + 1)
    body = assert_error(put_half(client, side, key, payer, over), 422, "validation_failed")
    assert "amount" in body["errors"]
    assert_nothing_stored(client, key, payer)
    exact = half_body(factory, side, payer, amount=maximum)
    assert put_half(client, side, key, payer, exact).status_code == 201


def test_the_maximum_amount_is_the_configured_one(factory_with, admin_headers):
    small = factory_with(TAPBANK_MAX_TRANSFER_MINOR=5000)
    payer = small.account("Ada", deposit=10_000)
    key = uuid.uuid4()
    refused = small.send(key, payer, small.sender_body(5001))
    assert refused.status_code == 422 and "amount" in refused.json["errors"]
    assert small.send(key, payer, small.sender_body(5000)).status_code == 201


@pytest.mark.parametrize("configured", [None, 5000], ids=["default", "5000"])
def test_the_document_states_the_configured_maximum_of_a_tap_only(factory_with, configured):
    overrides = {} if configured is None else {"TAPBANK_MAX_TRANSFER_MINOR": configured}
    schemas = factory_with(**overrides).client.get("/api/openapi.json").json["components"]
    schemas = schemas["schemas"]
    for name in ("TapSender", "TapReceiver"):
        amount = schemas[name]["properties"]["amount"]
        assert (amount["minimum"], amount["maximum"]) == (1, configured or 1_000_000)
    # A deposit has its own bound, whatever the tap maximum.
    assert schemas["Deposit"]["properties"]["amount"]["maximum"] == MAX_DEPOSIT_MINOR


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"amount": 1250, "currency": ', "application/json"),
        (b"\xff\xfe\x00{}", "application/json"),
        (b"amount=1250&currency=USD", "application/x-www-form-urlencoded"),
        (b"amount: 1250", "text/plain"),
    ],
    ids=["truncated", "not-utf8", "form", "text"],
)
def test_a_body_that_is_not_json_is_a_bad_request(client, payer, side, raw, content_type):
    key = uuid.uuid4()
    headers = {**payer.headers, "Content-Type": content_type}
    response = client.put(tap_url(key, side), data=raw, headers=headers)
    assert_error(response, 400, "invalid_json")
    assert_nothing_stored(client, key, payer)


@pytest.mark.parametrize("side", SIDES)
def test_a_body_over_16_kib_is_too_large(client, factory, payer, side):
    key = uuid.uuid4()
    body = half_body(factory, side, payer)
    body["device"] = {"os": "ios", "model": "m" * (MAX_BODY + 1)}
    response = put_half(client, side, key, payer, body)
    assert_error(response, 413)
    assert_nothing_stored(client, key, payer)


def test_a_chunked_body_over_16_kib_is_too_large_over_real_http(
    live_server, client, factory, payer
):
    key = uuid.uuid4()
    chunk = b" " * 1024
    head = b'{"amount": 1250, "currency": "USD", "device": {"os": "ios"}, '
    tail = b'"tapped_at": "2026-11-26T12:00:00Z"}'
    response = requests.put(
        f"{live_server}{tap_url(key, 'sender')}",
        data=iter([head, *[chunk] * 20, tail]),  # no Content-Length: sent chunked
        headers={**payer.headers, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == 413
    assert_nothing_stored(client, key, payer)


# -- idempotency: 201, then 200 and the same tap; anything else for the key and side is a 409 ---


@pytest.mark.parametrize("side", SIDES)
def test_the_first_half_is_created_and_the_same_half_again_answers_the_same_tap(
    client, factory, payer, payee, side
):
    key = uuid.uuid4()
    account = payer if side == "sender" else payee
    body = half_body(factory, side, payer)
    first = put_half(client, side, key, account, body)
    assert first.status_code == 201, first.json
    again = put_half(client, side, key, account, body)
    assert again.status_code == 200, again.json
    assert again.json == first.json
    assert len(stored_halves(key)) == 1
    assert db.session.scalar(select(func.count()).select_from(Tap)) == 1


def test_the_same_time_written_with_another_offset_is_the_same_half(client, factory, payer):
    key = uuid.uuid4()
    first = half_body(factory, "sender", payer, tapped_at="2026-11-26T12:00:00.120Z")
    same = half_body(factory, "sender", payer, tapped_at="2026-11-26T13:00:00.120+01:00")
    assert put_half(client, "sender", key, payer, first).status_code == 201
    assert put_half(client, "sender", key, payer, same).status_code == 200
    assert len(stored_halves(key)) == 1


OTHER_CONTENT = [
    pytest.param({"amount": 1251}, id="amount"),
    pytest.param({"currency": "EUR"}, id="currency"),
    pytest.param({"device": {"os": "harmonyos", "model": "iPhone 16"}}, id="device-os"),
    pytest.param({"device": {"os": "ios", "model": "iPhone 17"}}, id="device-model"),
    pytest.param({"device": {"os": "ios"}}, id="device-model-dropped"),
    pytest.param({"tapped_at": "2026-11-26T12:00:00.121Z"}, id="tapped_at"),
]


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("changes", OTHER_CONTENT)
def test_the_same_key_and_side_with_other_content_is_a_conflict_that_changes_nothing(
    client, factory, payer, payee, side, changes
):
    key = uuid.uuid4()
    account = payer if side == "sender" else payee
    body = half_body(
        factory,
        side,
        payer,
        tapped_at="2026-11-26T12:00:00.120Z",
        device={"os": "ios", "model": "iPhone 16"},
    )
    first = put_half(client, side, key, account, body)
    assert first.status_code == 201
    before = [half_columns(half) for half in stored_halves(key)]

    conflict = put_half(client, side, key, account, {**body, **changes})

    assert_error(conflict, 409, "half_conflict")
    assert f"a different {side} half" in conflict.json["message"]  # which of its halves clashed
    assert [half_columns(half) for half in stored_halves(key)] == before
    assert client.get(tap_url(key), headers=account.headers).json == first.json


def test_a_receiver_half_expecting_another_payer_is_a_conflict(
    client, factory, payer, payee, stranger
):
    key = uuid.uuid4()
    assert factory.receive(key, payee, payer).status_code == 201
    before = [half_columns(half) for half in stored_halves(key)]
    conflict = factory.receive(key, payee, stranger)
    assert_error(conflict, 409, "half_conflict")
    assert [half_columns(half) for half in stored_halves(key)] == before


@pytest.mark.parametrize("side", SIDES)
def test_the_same_half_from_another_account_is_a_conflict_that_changes_nothing(
    client, factory, payer, payee, stranger, side
):
    key = uuid.uuid4()
    account = payer if side == "sender" else payee
    body = half_body(factory, side, payer)
    first = put_half(client, side, key, account, body)
    assert first.status_code == 201
    before = [half_columns(half) for half in stored_halves(key)]

    conflict = put_half(client, side, key, stranger, body)

    assert_error(conflict, 409, "half_conflict")
    assert [half_columns(half) for half in stored_halves(key)] == before
    assert client.get(tap_url(key), headers=account.headers).json == first.json
    assert client.get(tap_url(key), headers=stranger.headers).status_code == 404


def test_replaying_both_halves_of_a_settled_tap_moves_the_money_once(client, factory, payer, payee):
    key = uuid.uuid4()
    sender, receiver = factory.sender_body(1250), factory.receiver_body(payer, 1250)
    assert factory.send(key, payer, sender).status_code == 201
    settled = factory.receive(key, payee, payer, receiver)
    assert settled.status_code == 201 and settled.json["status"] == "settled"

    for _ in range(2):
        again = factory.receive(key, payee, payer, receiver)
        assert again.status_code == 200 and again.json == settled.json
        assert factory.send(key, payer, sender).json == settled.json
    conflict = factory.send(key, payer, factory.sender_body(9999))
    assert conflict.status_code == 409

    assert factory.balance(payer) == 10_000 - 1250
    assert factory.balance(payee) == 1250
    assert db.session.scalar(select(func.count()).where(Transfer.tap_key == key)) == 1


@pytest.mark.parametrize("side", SIDES)
def test_the_admin_key_cannot_send_a_half(client, factory, payer, admin_headers, side):
    key = uuid.uuid4()
    response = client.put(
        tap_url(key, side), json=half_body(factory, side, payer), headers=admin_headers
    )
    assert_error(response, 403, "forbidden")
    assert_nothing_stored(client, key, payer)


@pytest.mark.parametrize("side", SIDES)
def test_the_admin_key_is_refused_before_the_body_is_judged(client, payer, admin_headers, side):
    key = uuid.uuid4()
    response = client.put(tap_url(key, side), json={"amount": "nope"}, headers=admin_headers)
    assert_error(response, 403, "forbidden")
    assert_nothing_stored(client, key, payer)


@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic YTpi"}],
    ids=["none", "wrong", "not-bearer"],
)
def test_a_half_without_a_valid_key_is_unauthorized(client, factory, payer, side, headers):
    key = uuid.uuid4()
    response = client.put(tap_url(key, side), json=half_body(factory, side, payer), headers=headers)
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_nothing_stored(client, key, payer)


# -- the tap's status ---------------------------------------------------------------------------


def test_a_lone_sender_half_awaits_the_receiver(client, factory, payer):
    key = uuid.uuid4()
    response = factory.send(key, payer)
    assert response.status_code == 201
    tap = response.json
    assert tap["key"] == str(key)
    assert tap["status"] == "awaiting_receiver"
    assert tap["sender"]["account_id"] == payer.id
    assert tap["sender"]["sender_account_id"] == payer.id
    assert tap["sender"]["status"] == "pending"
    assert tap["receiver"] is None and tap["transfer"] is None and tap["failure"] is None
    assert client.get(tap_url(key), headers=payer.headers).json == tap


def test_a_lone_receiver_half_awaits_the_sender(client, factory, payer, payee):
    key = uuid.uuid4()
    response = factory.receive(key, payee, payer)
    assert response.status_code == 201
    tap = response.json
    assert tap["status"] == "awaiting_sender"
    assert tap["receiver"]["account_id"] == payee.id
    assert tap["receiver"]["sender_account_id"] == payer.id
    assert tap["receiver"]["status"] == "pending"
    assert tap["sender"] is None and tap["transfer"] is None and tap["failure"] is None
    assert client.get(tap_url(key), headers=payee.headers).json == tap


@pytest.mark.parametrize("sender_first", [True, False], ids=["sender-first", "receiver-first"])
def test_both_halves_are_matched_when_nothing_settles_them(factory_with, sender_first):
    deferred = factory_with(TAPBANK_SETTLE_INLINE=False)
    payer = deferred.account("Ada", deposit=10_000)
    payee = deferred.account("Bob")
    key = uuid.uuid4()
    second = deferred.halves_in_order(key, payer, payee, sender_first)

    assert second.status_code == 201
    tap = second.json
    assert tap["status"] == "matched"
    assert tap["sender"]["status"] == tap["receiver"]["status"] == "pending"
    assert tap["transfer"] is None and tap["failure"] is None
    seen = deferred.client.get(tap_url(key), headers=payee.headers)
    assert seen.json == tap
    assert deferred.balance(payer) == 10_000


@pytest.mark.parametrize("sender_first", [True, False], ids=["sender-first", "receiver-first"])
def test_the_second_half_settles_the_tap_before_the_answer(
    client, factory, payer, payee, sender_first
):
    key = uuid.uuid4()
    second = factory.halves_in_order(key, payer, payee, sender_first)

    assert second.status_code == 201
    tap = second.json
    assert tap["status"] == "settled"
    assert tap["sender"]["status"] == tap["receiver"]["status"] == "settled"
    assert tap["failure"] is None
    # The answer is built from the halves intake read; it must be the tap as read afresh.
    assert tap == client.get(f"/api/v1/taps/{key}", headers=payer.headers).json
    transfer = tap["transfer"]
    assert set(transfer) == {
        "id",
        "sender_account_id",
        "receiver_account_id",
        "amount",
        "currency",
        "settled_at",
    }
    assert transfer["sender_account_id"] == payer.id
    assert transfer["receiver_account_id"] == payee.id
    assert (transfer["amount"], transfer["currency"]) == (1250, "USD")
    assert parse_time(transfer["settled_at"]).utcoffset() == timedelta(0)
    assert client.get(tap_url(key), headers=payer.headers).json == tap
    assert (factory.balance(payer), factory.balance(payee)) == (10_000 - 1250, 1250)


def test_a_pair_that_cannot_settle_fails_with_its_reasons(client, factory, payee):
    broke = factory.account("Carl", deposit=100)
    response = factory.tap(broke, payee, 1250)
    assert response.status_code == 201
    tap = response.json
    assert tap["status"] == "failed"
    assert tap["transfer"] is None
    assert tap["sender"]["status"] == tap["receiver"]["status"] == "failed"
    reasons = {item["reason"]: item["legacy_code"] for item in tap["failure"]["reasons"]}
    assert reasons == {"insufficient_funds": 100}
    assert tap["failure"]["message"]
    assert (factory.balance(broke), factory.balance(payee)) == (100, 0)


# -- who may see a tap --------------------------------------------------------------------------


def test_either_party_and_the_admin_can_read_the_tap(client, factory, payer, payee, admin_headers):
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    tap = factory.receive(key, payee, payer).json
    for headers in (payer.headers, payee.headers, admin_headers):
        response = client.get(tap_url(key), headers=headers)
        assert response.status_code == 200
        assert response.json == tap


def test_the_one_party_of_a_lone_half_and_the_admin_can_read_it(
    client, factory, payer, payee, admin_headers
):
    key = uuid.uuid4()
    tap = factory.receive(key, payee, payer).json
    assert client.get(tap_url(key), headers=payee.headers).json == tap
    assert client.get(tap_url(key), headers=admin_headers).json == tap


def test_a_third_account_cannot_see_the_tap(client, factory, payer, payee, stranger):
    key = uuid.uuid4()
    assert factory.tap(payer, payee).status_code == 201
    assert factory.send(key, payer).status_code == 201
    body = assert_error(client.get(tap_url(key), headers=stranger.headers), 404, "tap_not_found")
    assert "sender" not in body and "status" in body


def test_a_key_never_seen_is_not_found_for_everyone(client, payer, admin_headers):
    for headers in (payer.headers, admin_headers):
        assert_error(client.get(tap_url(uuid.uuid4()), headers=headers), 404, "tap_not_found")


def test_a_key_that_is_not_a_uuid_is_not_found(client, payer):
    assert_error(client.get(tap_url("not-a-uuid"), headers=payer.headers), 404)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer not-a-key"}], ids=["no-key", "wrong-key"]
)
def test_reading_a_tap_needs_a_valid_key(client, factory, payer, headers):
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201
    response = client.get(tap_url(key), headers=headers)
    body = assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "sender" not in body


# -- what a half keeps --------------------------------------------------------------------------


def test_each_half_keeps_what_the_phone_sent_and_when_the_server_received_it(
    client, factory, payer, payee
):
    key = uuid.uuid4()
    before = datetime.now(UTC)
    sender = half_body(
        factory,
        "sender",
        payer,
        device={"os": "ios", "model": "iPhone 16"},
        tapped_at="2026-11-26T14:00:00.123456+02:00",
    )
    receiver = half_body(
        factory,
        "receiver",
        payer,
        device={"os": "android"},
        tapped_at="1970-01-01T00:00:07Z",  # a phone whose clock was reset: kept, never trusted
    )
    assert put_half(client, "sender", key, payer, sender).status_code == 201
    tap = put_half(client, "receiver", key, payee, receiver).json
    after = datetime.now(UTC)

    assert tap["sender"]["device"] == {"os": "ios", "model": "iPhone 16"}
    assert tap["receiver"]["device"] == {"os": "android", "model": None}
    assert tap["sender"]["tapped_at"] == "2026-11-26T12:00:00.123456+00:00"
    assert parse_time(tap["receiver"]["tapped_at"]) == datetime(1970, 1, 1, 0, 0, 7, tzinfo=UTC)
    slack = timedelta(seconds=5)  # the database's clock against this process's
    for side in ("sender", "receiver"):
        received_at = parse_time(tap[side]["received_at"])
        assert received_at.utcoffset() == timedelta(0)
        assert before - slack <= received_at <= after + slack

    rows = {half.side.value: half for half in stored_halves(key)}
    assert (rows["sender"].device_os, rows["sender"].device_model) == ("ios", "iPhone 16")
    assert (rows["receiver"].device_os, rows["receiver"].device_model) == ("android", None)
    assert rows["sender"].tapped_at == datetime(2026, 11, 26, 12, 0, 0, 123456, tzinfo=UTC)
    assert rows["sender"].received_at <= rows["receiver"].received_at
    assert client.get(tap_url(key), headers=payer.headers).json == tap


@pytest.mark.parametrize(
    "key",
    [
        uuid.UUID(int=0),
        uuid.uuid1(),
        uuid.uuid3(uuid.NAMESPACE_DNS, "tap"),
        uuid.uuid5(uuid.NAMESPACE_DNS, "tap"),
    ],
    ids=["nil", "v1", "v3", "v5"],
)
def test_a_tap_key_that_is_not_random_is_a_422_naming_it_and_stores_nothing(factory, key):
    payer = factory.account("Ada", deposit=5_000)

    response = factory.send(key, payer)

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"key"}
    assert factory.client.get(f"/api/v1/taps/{key}", headers=payer.headers).status_code == 404


def test_a_version_7_tap_key_is_taken(factory):
    payer, payee = factory.account("Ada", deposit=5_000), factory.account("Bob")
    key = time_ordered_id()

    assert factory.send(key, payer).status_code == 201
    assert factory.receive(key, payee, payer).json["status"] == "settled"


@pytest.mark.parametrize("field", ["os", "model"])
def test_a_device_field_utf8_cannot_carry_is_a_422_naming_it(factory, field):
    payer = factory.account("Ada", deposit=5_000)
    body = factory.sender_body()
    body["device"] = {"os": "ios", "model": "x"} | {field: "phone\ud800"}

    response = factory.send(uuid.uuid4(), payer, body)

    assert response.status_code == 422
    assert response.json["errors"] == {"device": {field: ["Must be text that UTF-8 can carry."]}}
