"""AISBackend's routes: POST /send/ and /recieve/ with `api_key`, each the very half a v1 PUT
makes; user ids, exact amounts, the phone's platform and clock, and every refusal."""

import json
import platform
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from tapbank.extensions import db
from tapbank.models import Half, Tap
from tests.factories import Factory
from tests.factories import TestAccount as Account
from tests.taps.conftest import ledger_holds  # noqa: F401 (a fixture, used by name below)

# After every test here, every invariant of the ledger holds.
pytestmark = pytest.mark.usefixtures("ledger_holds")

PAYER_ID = 1234567890
PAYEE_ID = 223456789012
PLATFORM = platform.platform()


def api_key(account: Account) -> dict[str, str]:
    return {"api_key": account.key}


def send_body(key, user_id=PAYER_ID, amount=12.5, **changes) -> dict:
    """What AISBackend's payer phone posts."""
    body = {
        "key": str(key),
        "user_id": user_id,
        "transfer_amount": amount,
        "os_sender": PLATFORM,
        "transaction_time": str(datetime.now()),
    }
    return {**body, **changes}


def receive_body(key, user_id=PAYEE_ID, sender_id=PAYER_ID, amount=12.5, **changes) -> dict:
    """What AISBackend's payee phone posts."""
    body = {
        "key": str(key),
        "user_id": user_id,
        "sender_id": sender_id,
        "expected_amount": amount,
        "os_receiver": PLATFORM,
    }
    return {**body, **changes}


def send(client, account: Account, body: dict):
    return client.post("/api/v1/send/", json=body, headers=api_key(account))


def receive(client, account: Account, body: dict):
    return client.post("/api/v1/recieve/", json=body, headers=api_key(account))


def post_raw(client, path: str, account: Account, text: str):
    """A body exactly as written, so that a number reaches the server as its own text."""
    return client.post(path, data=text, content_type="application/json", headers=api_key(account))


def stored(key) -> tuple[int, int]:
    """How many tap rows and halves the database holds for key."""
    taps = db.session.execute(select(func.count()).where(Tap.key == key)).scalar_one()
    halves = db.session.execute(select(func.count()).where(Half.tap_key == key)).scalar_one()
    db.session.rollback()
    return taps, halves


def reasons(tap: dict) -> list[tuple[str, int | None]]:
    return [(item["reason"], item["legacy_code"]) for item in tap["failure"]["reasons"]]


@pytest.fixture
def payer(factory) -> Account:
    return factory.account("Ada", deposit=10_000, legacy_user_id=PAYER_ID)


@pytest.fixture
def payee(factory) -> Account:
    return factory.account("Bob", legacy_user_id=PAYEE_ID)


# -- a tap made of AISBackend's halves ------------------------------------------------------------


@pytest.mark.parametrize("sender_first", [True, False], ids=["sender-first", "receiver-first"])
def test_two_legacy_halves_make_a_tap_that_settles(client, factory, payer, payee, sender_first):
    key = uuid.uuid4()
    sent_body = send_body(key, transaction_time="2026-11-30 07:11:45.123456")
    halves = [(send, payer, sent_body), (receive, payee, receive_body(key))]
    if not sender_first:
        halves.reverse()

    first_post, first_account, first_body = halves[0]
    first = first_post(client, first_account, first_body)
    assert first.status_code == 201, first.json
    second_post, second_account, second_body = halves[1]
    second = second_post(client, second_account, second_body)

    assert second.status_code == 201, second.json
    tap = second.json
    assert tap["status"] == "settled"
    assert tap["key"] == str(key)
    assert tap["transfer"]["amount"] == 1250
    assert tap["transfer"]["currency"] == "USD"
    assert (tap["transfer"]["sender_account_id"], tap["transfer"]["receiver_account_id"]) == (
        payer.id,
        payee.id,
    )
    sender, receiver = tap["sender"], tap["receiver"]
    assert (sender["account_id"], sender["sender_account_id"]) == (payer.id, payer.id)
    assert (receiver["account_id"], receiver["sender_account_id"]) == (payee.id, payer.id)
    assert sender["amount"] == receiver["amount"] == 1250
    assert sender["currency"] == receiver["currency"] == "USD"
    assert sender["device"] == receiver["device"] == {"os": PLATFORM, "model": None}
    # The payer's clock as sent, read as UTC; the payee's half takes the server's receipt time.
    assert sender["tapped_at"] == "2026-11-30T07:11:45.123456+00:00"
    assert receiver["tapped_at"] == receiver["received_at"]
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


def test_the_tap_is_readable_with_the_api_key_header_by_either_party(client, factory, payer, payee):
    key = uuid.uuid4()
    send(client, payer, send_body(key))
    settled = receive(client, payee, receive_body(key)).json

    for party in (payer, payee):
        read = client.get(f"/api/v1/taps/{key}", headers=api_key(party))
        assert read.status_code == 200, read.json
        assert read.json == settled
    stranger = factory.account("Cy")
    assert client.get(f"/api/v1/taps/{key}", headers=api_key(stranger)).status_code == 404
    unknown = client.get(f"/api/v1/taps/{key}", headers={"api_key": "tbk_" + "x" * 43})
    assert unknown.status_code == 401
    assert unknown.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_legacy_sender_half_and_a_v1_receiver_half_make_one_tap(client, factory, payer, payee):
    key = uuid.uuid4()
    assert send(client, payer, send_body(key)).status_code == 201

    second = factory.receive(key, payee, payer)

    assert second.status_code == 201, second.json
    assert second.json["status"] == "settled"
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


def test_a_v1_sender_half_and_a_legacy_receiver_half_make_one_tap(client, factory, payer, payee):
    key = uuid.uuid4()
    assert factory.send(key, payer).status_code == 201  # 1250 minor units

    second = receive(client, payee, receive_body(key))

    assert second.status_code == 201, second.json
    assert second.json["status"] == "settled"
    assert second.json["sender"]["device"] == {"os": "ios", "model": "iPhone 16"}
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


def test_a_legacy_half_is_stored_as_the_v1_half_with_the_same_content(
    client, factory, payer, payee
):
    legacy_key, v1_key = uuid.uuid4(), uuid.uuid4()
    moment = datetime(2026, 11, 30, 7, 11, 45, 123456, tzinfo=UTC)
    legacy = send(client, payer, send_body(legacy_key, transaction_time=str(moment)[:-6]))
    v1_body = {
        "amount": 1250,
        "currency": "USD",
        "device": {"os": PLATFORM},
        "tapped_at": moment.isoformat(),
    }
    v1 = factory.send(v1_key, payer, v1_body)

    assert legacy.status_code == v1.status_code == 201
    ignored = {"received_at"}
    as_legacy = {k: v for k, v in legacy.json["sender"].items() if k not in ignored}
    as_v1 = {k: v for k, v in v1.json["sender"].items() if k not in ignored}
    assert as_legacy == as_v1
    assert legacy.json["status"] == v1.json["status"] == "awaiting_receiver"


# -- idempotency ----------------------------------------------------------------------------------


def test_a_replayed_legacy_sender_half_gets_200_and_the_same_tap(client, payer, payee):
    key = uuid.uuid4()
    body = send_body(key)
    first = send(client, payer, body)

    again = send(client, payer, body)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stored(key) == (1, 1)


def test_a_replayed_legacy_receiver_half_gets_200_though_it_carries_no_time(
    client, factory, payer, payee
):
    key = uuid.uuid4()
    first = receive(client, payee, receive_body(key))
    time.sleep(0.01)  # a later receipt time: the replay must still be the same half

    again = receive(client, payee, receive_body(key))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert stored(key) == (1, 1)


def test_replays_after_the_tap_settled_get_200_and_move_no_money(client, factory, payer, payee):
    key = uuid.uuid4()
    sent, received = send_body(key), receive_body(key)
    send(client, payer, sent)
    settled = receive(client, payee, received)

    replays = [send(client, payer, sent), receive(client, payee, received)]

    assert [replay.status_code for replay in replays] == [200, 200]
    assert all(replay.json == settled.json for replay in replays)
    assert (factory.balance(payer), factory.balance(payee)) == (8750, 1250)


@pytest.mark.parametrize(
    ("side", "change"),
    [
        ("sender", {"transfer_amount": 12.51}),
        ("sender", {"os_sender": "Darwin-24.1.0-arm64-arm-64bit"}),
        ("sender", {"transaction_time": "2026-11-30 07:11:46"}),
        ("receiver", {"expected_amount": 12}),
        ("receiver", {"os_receiver": "Windows-11-10.0.26100-SP0"}),
    ],
    ids=["amount", "os", "time", "receiver-amount", "receiver-os"],
)
def test_another_half_for_the_same_key_and_side_is_a_conflict(client, payer, payee, side, change):
    key = uuid.uuid4()
    post, account = (send, payer) if side == "sender" else (receive, payee)
    body = send_body(key) if side == "sender" else receive_body(key)
    assert post(client, account, body).status_code == 201

    conflict = post(client, account, {**body, **change})

    assert conflict.status_code == 409, conflict.json
    assert conflict.json["error"] == "half_conflict"
    assert stored(key) == (1, 1)


def test_a_legacy_receiver_half_from_another_payee_is_a_conflict(client, factory, payer, payee):
    key = uuid.uuid4()
    other = factory.account("Dee", legacy_user_id=777)
    assert receive(client, payee, receive_body(key)).status_code == 201

    conflict = receive(client, other, receive_body(key, user_id=777))

    assert conflict.status_code == 409
    assert conflict.json["error"] == "half_conflict"
    assert stored(key) == (1, 1)


# -- the failure reasons and their legacy codes ---------------------------------------------------


def test_an_overdraw_fails_with_legacy_code_100(client, factory, payer, payee):
    key = uuid.uuid4()
    send(client, payer, send_body(key, amount=100.01))
    tap = receive(client, payee, receive_body(key, amount=100.01)).json

    assert tap["status"] == "failed"
    assert reasons(tap) == [("insufficient_funds", 100)]
    assert (factory.balance(payer), factory.balance(payee)) == (10_000, 0)


def test_a_payee_expecting_another_payer_fails_with_legacy_code_200(client, factory, payer, payee):
    factory.account("Cy", deposit=10_000, legacy_user_id=333)
    key = uuid.uuid4()
    send(client, payer, send_body(key))
    tap = receive(client, payee, receive_body(key, sender_id=333)).json

    assert tap["status"] == "failed"
    assert reasons(tap) == [("sender_mismatch", 200)]


def test_amounts_that_differ_fail_with_legacy_code_300(client, factory, payer, payee):
    key = uuid.uuid4()
    send(client, payer, send_body(key, amount=12.5))
    tap = receive(client, payee, receive_body(key, amount=12.0)).json

    assert tap["status"] == "failed"
    assert reasons(tap) == [("amount_mismatch", 300)]
    assert tap["receiver"]["amount"] == 1200


def test_halves_that_do_not_meet_in_time_fail_with_legacy_code_500(factory_with, admin_headers):
    short = factory_with(TAPBANK_TAP_TTL_SECONDS=1)
    payer = short.account("Ada", deposit=10_000, legacy_user_id=PAYER_ID)
    payee = short.account("Bob", legacy_user_id=PAYEE_ID)
    key = uuid.uuid4()
    assert send(short.client, payer, send_body(key)).status_code == 201
    time.sleep(1.2)

    tap = receive(short.client, payee, receive_body(key)).json

    assert tap["status"] == "failed"
    assert reasons(tap) == [("expired", 500)]
    operator_view = short.client.get("/api/v1/reconciliation-failures", headers=admin_headers)
    listed = [item for item in operator_view.json["items"] if item["key"] == str(key)]
    assert [reasons(item) for item in listed] == [[("expired", 500)]]


def test_every_reason_that_applies_is_listed_with_its_code(client, factory, payer, payee):
    factory.account("Cy", legacy_user_id=333)
    key = uuid.uuid4()
    send(client, payer, send_body(key, amount=200))
    tap = receive(client, payee, receive_body(key, sender_id=333, amount=150)).json

    assert reasons(tap) == [
        ("insufficient_funds", 100),
        ("sender_mismatch", 200),
        ("amount_mismatch", 300),
    ]


def test_a_half_takes_its_accounts_currency(client, factory):
    payer = factory.account("Ada", deposit=10_000, currency="EUR", legacy_user_id=PAYER_ID)
    payee = factory.account("Bob", currency="EUR", legacy_user_id=PAYEE_ID)
    key = uuid.uuid4()
    send(client, payer, send_body(key))

    tap = receive(client, payee, receive_body(key)).json

    assert tap["status"] == "settled"
    assert tap["transfer"]["currency"] == tap["sender"]["currency"] == "EUR"


def test_halves_from_accounts_in_different_currencies_fail(client, factory, payer):
    payee = factory.account("Bob", currency="EUR", legacy_user_id=PAYEE_ID)
    key = uuid.uuid4()
    send(client, payer, send_body(key))

    tap = receive(client, payee, receive_body(key)).json

    assert (tap["sender"]["currency"], tap["receiver"]["currency"]) == ("USD", "EUR")
    assert reasons(tap) == [("currency_mismatch", None)]


# -- who may send: the key, and the user id it must match ----------------------------------------


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_a_user_id_that_is_not_the_callers_own_is_forbidden_and_stores_nothing(
    client, payer, payee, side
):
    key = uuid.uuid4()
    if side == "sender":
        response = send(client, payer, send_body(key, user_id=PAYEE_ID))
    else:
        response = receive(client, payee, receive_body(key, user_id=PAYER_ID))

    assert response.status_code == 403, response.json
    assert response.json["error"] == "user_id_mismatch"
    assert stored(key) == (0, 0)


def test_an_account_without_a_legacy_user_id_cannot_claim_one(client, factory, payee):
    plain = factory.account("Eve", deposit=10_000)
    key = uuid.uuid4()

    response = send(client, plain, send_body(key, user_id=99))

    assert response.status_code == 403
    assert response.json["error"] == "user_id_mismatch"
    assert stored(key) == (0, 0)


def test_a_sender_id_no_account_has_is_a_422_naming_it(client, payee):
    key = uuid.uuid4()

    response = receive(client, payee, receive_body(key, sender_id=5))

    assert response.status_code == 422, response.json
    assert list(response.json["errors"]) == ["sender_id"]
    assert stored(key) == (0, 0)


def test_the_operators_key_may_not_send_a_half(client, admin_headers):
    key = uuid.uuid4()
    admin = {"api_key": admin_headers["Authorization"].removeprefix("Bearer ")}

    response = client.post("/api/v1/send/", json=send_body(key), headers=admin)

    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_a_bearer_key_works_on_the_legacy_routes_too(client, payer):
    key = uuid.uuid4()
    response = client.post("/api/v1/send/", json=send_body(key), headers=payer.headers)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "headers",
    [{}, {"api_key": ""}, {"api_key": "tbk_" + "x" * 43}, {"Authorization": "Token abc"}],
    ids=["none", "empty", "unknown", "another-scheme"],
)
def test_a_missing_or_wrong_key_is_401_before_the_fields_are_checked(client, headers):
    response = client.post("/api/v1/send/", json={}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_api_key_header_is_not_taken_on_the_other_routes(client, payer):
    response = client.get(f"/api/v1/accounts/{payer.id}", headers=api_key(payer))
    assert response.status_code == 401


@pytest.mark.parametrize("body", [Factory.sender_body(), {"amount": -5}], ids=["valid", "invalid"])
def test_the_api_key_header_is_not_taken_on_a_v1_half_whatever_its_body(client, payer, body):
    response = client.put(f"/api/v1/taps/{uuid.uuid4()}/sender", json=body, headers=api_key(payer))
    assert response.status_code == 401


def test_another_schemes_authorization_header_leaves_the_api_key_header_to_be_taken(client, payer):
    headers = {**api_key(payer), "Authorization": "Token abc"}
    response = client.post("/api/v1/send/", json=send_body(uuid.uuid4()), headers=headers)
    assert response.status_code == 201, response.json


def test_a_legacy_half_without_a_key_is_recorded_as_sending_none(client, admin_headers):
    assert client.post("/api/v1/send/", json=send_body(uuid.uuid4())).status_code == 401

    (failure,) = client.get("/api/v1/auth-failures", headers=admin_headers).json["items"]
    assert failure["route"] == "/api/v1/send/"
    assert failure["key_fingerprint"] is None


# -- amounts: read exactly from the number's own text ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "minor"),
    [
        ("12.5", 1250),
        ("12.50", 1250),
        ("12.500", 1250),  # trailing zeros carry no value
        ("12", 1200),
        ("12.0", 1200),
        ("0.01", 1),
        ("1e2", 10000),
        ("1E+2", 10000),
        ("1.25e1", 1250),
        ("125e-2", 125),
        ("0.1", 10),  # no float's 0.1000000000000000055511151231257827
        ("10000", 1_000_000),  # TAPBANK_MAX_TRANSFER_MINOR, 1,000,000 minor units
        ("9999.99", 999_999),
    ],
)
def test_an_amount_is_its_exact_decimal_value_in_minor_units(client, payer, text, minor):
    key = uuid.uuid4()
    body = json.dumps(send_body(key)).replace(
        '"transfer_amount": 12.5', f'"transfer_amount": {text}'
    )

    response = post_raw(client, "/api/v1/send/", payer, body)

    assert response.status_code == 201, response.json
    assert response.json["sender"]["amount"] == minor


TOO_MANY_DIGITS = "12.5000000000000000000000000000000000001"  # beyond a float, and a Decimal's 28


@pytest.mark.parametrize(
    "text",
    [
        "0.125",
        "0.001",
        "1e-3",
        TOO_MANY_DIGITS,
        "0",
        "0.0",
        "-0",
        "-12.5",
        "10000.01",
        "1e7",
        "1e400",
        "1e-400",
        "1e999999999",
        "1" + "0" * 4000,
        "1e9999999999999999999999",  # an exponent past any decimal's
        "1e-9999999999999999999999",
        "NaN",
        "Infinity",
        "-Infinity",
        '"12.5"',
        "true",
        "false",
        "null",
        "[12.5]",
        '{"value": 12.5}',
    ],
    ids=lambda text: text[:20],
)
@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_an_amount_that_is_not_exact_positive_and_in_range_is_a_422_naming_it(
    client, payer, payee, side, text
):
    key = uuid.uuid4()
    if side == "sender":
        path, account, field, body = "/api/v1/send/", payer, "transfer_amount", send_body(key)
    else:
        path, account, field, body = "/api/v1/recieve/", payee, "expected_amount", receive_body(key)
    raw = json.dumps(body).replace(f'"{field}": 12.5', f'"{field}": {text}')

    response = post_raw(client, path, account, raw)

    assert response.status_code == 422, response.get_data(as_text=True)
    assert list(response.json["errors"]) == [field]
    assert stored(key) == (0, 0)


@pytest.mark.parametrize("side", ["sender", "receiver"])
def test_a_number_with_more_digits_than_python_reads_is_a_400_as_on_v1(client, payer, payee, side):
    # Past Python's limit on an int's digits (4,300) the body cannot be read at all: the
    # contract's 400 for a body that is not JSON, as v1's routes answer it, never a 500.
    key, digits = uuid.uuid4(), "1" + "0" * 5000
    if side == "sender":
        path, account, body = "/api/v1/send/", payer, send_body(key)
    else:
        path, account, body = "/api/v1/recieve/", payee, receive_body(key)
    legacy = post_raw(client, path, account, json.dumps(body).replace("12.5", digits))
    v1_body = json.dumps({"amount": 1, "currency": "USD", "device": {"os": "x"}})
    v1 = client.put(
        f"/api/v1/taps/{key}/sender",
        data=v1_body.replace('"amount": 1', f'"amount": {digits}'),
        content_type="application/json",
        headers={"Authorization": f"Bearer {payer.key}"},
    )

    assert (legacy.status_code, legacy.json["error"]) == (400, "invalid_json")
    assert (v1.status_code, v1.json["error"]) == (400, "invalid_json")
    assert stored(key) == (0, 0)


@pytest.mark.parametrize(
    ("currency", "text", "minor"),
    [("JPY", "1200", 1200), ("JPY", "1200.0", 1200), ("BHD", "1.005", 1005), ("EUR", "3.1", 310)],
)
def test_the_decimals_allowed_are_the_accounts_currencys(client, factory, currency, text, minor):
    account = factory.account("Ken", currency=currency, legacy_user_id=PAYER_ID)
    key = uuid.uuid4()
    body = json.dumps(send_body(key)).replace(
        '"transfer_amount": 12.5', f'"transfer_amount": {text}'
    )

    response = post_raw(client, "/api/v1/send/", account, body)

    assert response.status_code == 201, response.json
    assert (response.json["sender"]["amount"], response.json["sender"]["currency"]) == (
        minor,
        currency,
    )


@pytest.mark.parametrize(("currency", "text"), [("JPY", "12.5"), ("BHD", "1.0005")])
def test_more_decimals_than_the_accounts_currency_has_is_a_422(client, factory, currency, text):
    account = factory.account("Ken", currency=currency, legacy_user_id=PAYER_ID)
    key = uuid.uuid4()
    body = json.dumps(send_body(key)).replace(
        '"transfer_amount": 12.5', f'"transfer_amount": {text}'
    )

    response = post_raw(client, "/api/v1/send/", account, body)

    assert response.status_code == 422
    assert currency in response.json["errors"]["transfer_amount"][0]


# -- the other fields -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 43, 255])
def test_a_platform_string_of_up_to_255_characters_is_kept_whole(client, payer, payee, length):
    key = uuid.uuid4()
    os_name = ("Linux-6.8.0-1015-x86_64-with-glibc2.39-" * 7)[:length]

    sent = send(client, payer, send_body(key, os_sender=os_name))
    received = receive(client, payee, receive_body(key, os_receiver=os_name))

    assert (sent.status_code, received.status_code) == (201, 201)
    assert received.json["sender"]["device"]["os"] == os_name
    assert received.json["receiver"]["device"]["os"] == os_name


@pytest.mark.parametrize(
    ("time_sent", "kept"),
    [
        ("2026-11-30 07:11:45.123456", "2026-11-30T07:11:45.123456+00:00"),
        ("2026-11-30 07:11:45", "2026-11-30T07:11:45+00:00"),  # str() of a whole second
        ("2026-11-30 07:11:45.5", "2026-11-30T07:11:45.500000+00:00"),
        ("2026-11-30T07:11:45.123Z", "2026-11-30T07:11:45.123000+00:00"),
        ("2026-11-30 09:11:45.123456+02:00", "2026-11-30T07:11:45.123456+00:00"),
        ("0001-01-01 00:00:00", "0001-01-01T00:00:00+00:00"),
    ],
)
def test_the_transaction_time_is_kept_as_sent_read_as_utc_without_an_offset(
    client, payer, time_sent, kept
):
    response = send(client, payer, send_body(uuid.uuid4(), transaction_time=time_sent))

    assert response.status_code == 201, response.json
    assert response.json["sender"]["tapped_at"] == kept


def test_the_server_clock_not_the_phones_is_the_half_s_arrival(client, payer):
    long_ago = str(datetime.now() - timedelta(days=400))
    response = send(client, payer, send_body(uuid.uuid4(), transaction_time=long_ago))

    received = datetime.fromisoformat(response.json["sender"]["received_at"])
    assert abs(received - datetime.now(UTC)) < timedelta(minutes=1)
    assert response.json["status"] == "awaiting_receiver"


class Missing:
    """A field left out of the body. Named in test ids as MISSING, the same in every run: a
    mutation run selects tests by id, and object()'s repr holds its address."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = Missing()

INVALID_FIELDS = [
    ("sender", "key", "not-a-uuid"),
    ("sender", "key", "fd369d7c-ecbd-11f1-af98-02fc00000001"),  # a uuid1: time and host
    ("sender", "key", "00000000-0000-0000-0000-000000000000"),
    ("sender", "key", 12),
    ("sender", "key", MISSING),
    ("sender", "user_id", 0),
    ("sender", "user_id", 2**53),
    ("sender", "user_id", 1234567890.0),
    ("sender", "user_id", "1234567890"),
    ("sender", "user_id", True),
    ("sender", "user_id", None),
    ("sender", "user_id", MISSING),
    ("sender", "transfer_amount", MISSING),
    ("sender", "os_sender", ""),
    ("sender", "os_sender", "x" * 256),
    # Named by hand: repr's escapes are escaped again each time one process collects them.
    pytest.param("sender", "os_sender", "Linux\x00", id="'sender'-'os_sender'-'Linux NUL'"),
    ("sender", "os_sender", 42),
    ("sender", "os_sender", MISSING),
    ("sender", "transaction_time", "yesterday"),
    ("sender", "transaction_time", "2026-11-30"),
    ("sender", "transaction_time", "2026-13-01 00:00:00"),
    ("sender", "transaction_time", "2026-11-30 07:11:45.1234567"),
    ("sender", "transaction_time", "0001-01-01 00:00:00+14:00"),
    ("sender", "transaction_time", "9999-12-31 23:59:59-14:00"),
    pytest.param(
        "sender",
        "transaction_time",
        "2026-11-30 07:11:45\n",
        id="'sender'-'transaction_time'-'2026-11-30 07:11:45 LF'",
    ),
    ("sender", "transaction_time", 1764486705),
    ("sender", "transaction_time", MISSING),
    ("sender", "sender_id", PAYER_ID),  # the payer's half names no one else
    ("sender", "tip", 1),
    ("receiver", "sender_id", 0),
    ("receiver", "sender_id", "1234567890"),
    ("receiver", "sender_id", 1234567890.5),
    ("receiver", "sender_id", MISSING),
    ("receiver", "expected_amount", MISSING),
    ("receiver", "os_receiver", "x" * 256),
    ("receiver", "os_receiver", MISSING),
    ("receiver", "transaction_time", "2026-11-30 07:11:45"),  # the payee's half has no time
]


@pytest.mark.parametrize(("side", "field", "value"), INVALID_FIELDS, ids=repr)
def test_an_invalid_field_is_a_422_naming_it_and_stores_nothing(
    client, payer, payee, side, field, value
):
    key = uuid.uuid4()
    post, account, body = (
        (send, payer, send_body(key)) if side == "sender" else (receive, payee, receive_body(key))
    )
    if value is MISSING:
        del body[field]
    else:
        body[field] = value

    response = post(client, account, body)

    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert stored(key) == (0, 0)


def test_a_body_that_is_not_json_is_a_400(client, payer):
    response = post_raw(client, "/api/v1/send/", payer, '{"key": ')
    assert response.status_code == 400
    assert response.json["error"] == "invalid_json"


def test_an_empty_body_names_every_required_field(client, payee):
    response = client.post("/api/v1/recieve/", headers=api_key(payee))
    assert response.status_code == 422
    assert set(response.json["errors"]) == {
        "key",
        "user_id",
        "sender_id",
        "expected_amount",
        "os_receiver",
    }


def test_a_path_without_its_trailing_slash_is_redirected_to_it(client, payer):
    response = client.post("/api/v1/send", json=send_body(uuid.uuid4()), headers=api_key(payer))
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/api/v1/send/")


# -- api_key fails exactly as a bearer key does: recorded, and limited ----------------------------


def from_address(address: str) -> dict:
    return {"REMOTE_ADDR": address}


def test_a_wrong_api_key_is_recorded_as_a_wrong_bearer_key_is(client, admin_headers, payer):
    wrong_key = "tbk_" + uuid.uuid4().hex + uuid.uuid4().hex
    client.post(
        "/api/v1/send/",
        json=send_body(uuid.uuid4()),
        headers={"api_key": wrong_key},
        environ_base=from_address("10.0.0.7"),
    )
    client.get(
        f"/api/v1/accounts/{payer.id}",
        headers={"Authorization": f"Bearer {wrong_key}"},
        environ_base=from_address("10.0.0.8"),
    )

    response = client.get("/api/v1/auth-failures", headers=admin_headers)

    assert wrong_key[len("tbk_") :] not in response.get_data(as_text=True)
    as_bearer, as_api_key = response.json["items"]  # newest first
    assert (as_api_key["client_address"], as_api_key["method"], as_api_key["route"]) == (
        "10.0.0.7",
        "POST",
        "/api/v1/send/",
    )
    assert as_api_key["key_fingerprint"] == as_bearer["key_fingerprint"]
    assert as_api_key["key_fingerprint"]


def test_api_key_and_bearer_failures_count_toward_one_limit(client, payer):
    wrong = {"api_key": "tbk_wrong"}
    for n in range(10):
        bearer = {"Authorization": f"Bearer tbk_wrong-{n}"}
        response = client.get(
            f"/api/v1/accounts/{payer.id}", headers=bearer, environ_base=from_address("10.0.0.9")
        )
        assert response.status_code == 401
    for _ in range(10):
        response = client.get(
            f"/api/v1/taps/{uuid.uuid4()}", headers=wrong, environ_base=from_address("10.0.0.9")
        )
        assert response.status_code == 401

    limited = client.post(
        "/api/v1/recieve/",
        json=receive_body(uuid.uuid4()),
        headers=wrong,
        environ_base=from_address("10.0.0.9"),
    )

    assert limited.status_code == 429
    assert limited.json["error"] == "too_many_failed_authentications"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    served = client.post(
        "/api/v1/send/",
        json=send_body(uuid.uuid4()),
        headers=api_key(payer),
        environ_base=from_address("10.0.0.9"),
    )
    assert served.status_code == 201  # a valid key is still served from that address
