"""Generated input through the real API on real PostgreSQL: any text UTF-8 and PostgreSQL can
carry comes back exactly, any amount in range is stored exactly, and everything else is a 422
naming its field that stores nothing.

A few dozen examples each in `make test`; `make fuzz` (HYPOTHESIS_PROFILE=fuzz) runs many more.
"""

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tapbank.extensions import db
from tapbank.ledger.accounts import MAX_DEPOSIT_MINOR

pytestmark = pytest.mark.fuzz

# Each example opens its own accounts and taps: the tables are emptied per test, not per example.
through_the_api = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

# Any Unicode scalar value but NUL: every string UTF-8 can carry and PostgreSQL can store.
STORABLE = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
# What neither can: NUL, or one lone surrogate (never two side by side: JSON would pair them).
UNSTORABLE = st.just("\x00") | st.characters(categories=["Cs"])


def storable_text(max_size: int, blank: bool = True) -> st.SearchStrategy[str]:
    texts = st.text(STORABLE, min_size=1, max_size=max_size)
    return texts if blank else texts.filter(str.strip)


def unstorable_text(max_size: int) -> st.SearchStrategy[str]:
    """Storable text around one character that is not, max_size characters at most."""
    side = st.text(STORABLE, max_size=(max_size - 1) // 2)
    return st.builds(lambda before, bad, after: before + bad + after, side, UNSTORABLE, side)


def stored(table: str) -> int:
    """Rows in table, as committed (a fresh transaction of the test's session)."""
    db.session.rollback()
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def assert_refused(response, *field_path: str) -> None:
    """A 422 whose errors name the field (a nested one by its path)."""
    assert response.status_code == 422, response.json
    assert response.json["error"] == "validation_failed"
    errors = response.json["errors"]
    for name in field_path:
        assert name in errors, response.json
        errors = errors[name]


# -- text ---------------------------------------------------------------------------------------


@through_the_api
@given(owner_name=storable_text(200, blank=False), bank_name=storable_text(200, blank=False))
def test_any_storable_owner_and_bank_name_comes_back_exactly(
    factory, other_client, admin_headers, owner_name, bank_name
):
    account = factory.account(owner_name, bank_name=bank_name)

    read = other_client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers)

    assert (read.json["owner_name"], read.json["bank_name"]) == (owner_name, bank_name)


@through_the_api
@given(bad=unstorable_text(200), field=st.sampled_from(["owner_name", "bank_name"]))
def test_an_owner_or_bank_name_no_database_stores_is_refused_naming_it(
    client, admin_headers, bad, field
):
    accounts_before = stored("accounts")
    body = {"owner_name": "Ada", field: bad}

    response = client.post("/api/v1/accounts", json=body, headers=admin_headers)

    assert_refused(response, field)
    assert stored("accounts") == accounts_before


@through_the_api
@given(os=storable_text(40), model=st.none() | storable_text(100))
def test_any_storable_device_comes_back_exactly(factory, other_client, os, model):
    payer = factory.account("Ada")
    key = uuid.uuid4()
    body = factory.sender_body(device={"os": os, "model": model})
    assert factory.send(key, payer, body).status_code == 201

    read = other_client.get(f"/api/v1/taps/{key}", headers=payer.headers)

    assert read.json["sender"]["device"] == {"os": os, "model": model}


@through_the_api
@given(bad=unstorable_text(40), field=st.sampled_from(["os", "model"]))
def test_a_device_no_database_stores_is_refused_naming_it(factory, bad, field):
    payer = factory.account("Ada")
    halves_before = stored("halves")
    device = {"os": "android", field: bad}

    response = factory.send(uuid.uuid4(), payer, factory.sender_body(device=device))

    assert_refused(response, "device", field)
    assert stored("halves") == halves_before


@through_the_api
@given(memo=storable_text(500))
def test_any_storable_memo_comes_back_exactly(factory, other_client, admin_headers, memo):
    account = factory.account("Ada")
    deposit = factory.client.post(
        f"/api/v1/accounts/{account.id}/deposits",
        json={"amount": 100, "memo": memo},
        headers=admin_headers,
    )
    assert deposit.status_code == 201, deposit.json

    history = other_client.get(f"/api/v1/accounts/{account.id}/transfers", headers=account.headers)

    assert [item["memo"] for item in history.json["items"]] == [memo]


@through_the_api
@given(memo=unstorable_text(500))
def test_a_memo_no_database_stores_is_refused_naming_it(factory, admin_headers, memo):
    account = factory.account("Ada")
    transfers_before = stored("transfers")

    response = factory.client.post(
        f"/api/v1/accounts/{account.id}/deposits",
        json={"amount": 100, "memo": memo},
        headers=admin_headers,
    )

    assert_refused(response, "memo")
    assert stored("transfers") == transfers_before


# -- amounts ------------------------------------------------------------------------------------

# The largest tap amount the settings allow, so that the largest exact JSON integers are tried.
HIGHEST_TAP_MAXIMUM = 2**53 - 1


def not_an_amount(maximum: int) -> st.SearchStrategy:
    """Every JSON value an amount may not be: out of range, a float (even 12.0), a string, a
    boolean, null, a list or an object."""
    return st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=maximum + 1),
        st.floats(),
        st.text(),
        st.booleans(),
        st.none(),
        st.lists(st.integers(1, 10), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(1, 10), max_size=2),
    )


@through_the_api
@given(amount=st.integers(1, HIGHEST_TAP_MAXIMUM), side=st.sampled_from(["sender", "receiver"]))
def test_any_tap_amount_in_range_is_stored_exactly(factory_with, other_client, amount, side):
    factory = factory_with(TAPBANK_MAX_TRANSFER_MINOR=HIGHEST_TAP_MAXIMUM)
    payer, payee = factory.account("Ada"), factory.account("Bob")
    key = uuid.uuid4()
    if side == "sender":
        sent, reader = factory.send(key, payer, factory.sender_body(amount)), payer
    else:
        body = factory.receiver_body(payer, amount)
        sent, reader = factory.receive(key, payee, payer, body), payee
    assert sent.status_code == 201, sent.json

    read = other_client.get(f"/api/v1/taps/{key}", headers=reader.headers)

    assert read.json[side]["amount"] == amount
    assert type(read.json[side]["amount"]) is int


@through_the_api
@given(amount=not_an_amount(1_000_000), side=st.sampled_from(["sender", "receiver"]))
def test_any_other_tap_amount_is_refused_naming_it(factory, amount, side):
    payer, payee = factory.account("Ada"), factory.account("Bob")
    halves_before = stored("halves")
    key = uuid.uuid4()
    if side == "sender":
        response = factory.send(key, payer, factory.sender_body(amount))
    else:
        response = factory.receive(key, payee, payer, factory.receiver_body(payer, amount))

    assert_refused(response, "amount")
    assert stored("halves") == halves_before


@through_the_api
@given(amount=st.integers(1, MAX_DEPOSIT_MINOR))
def test_any_deposit_in_range_is_stored_exactly(factory, other_client, admin_headers, amount):
    account = factory.account("Ada")
    deposit = factory.client.post(
        f"/api/v1/accounts/{account.id}/deposits", json={"amount": amount}, headers=admin_headers
    )
    assert deposit.status_code == 201, deposit.json

    read = other_client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers)
    history = other_client.get(f"/api/v1/accounts/{account.id}/transfers", headers=account.headers)

    assert read.json["balance"] == amount
    assert [item["amount"] for item in history.json["items"]] == [amount]


@through_the_api
@given(amount=not_an_amount(MAX_DEPOSIT_MINOR))
def test_any_other_deposit_amount_is_refused_naming_it(factory, admin_headers, amount):
    account = factory.account("Ada")
    transfers_before = stored("transfers")

    response = factory.client.post(
        f"/api/v1/accounts/{account.id}/deposits", json={"amount": amount}, headers=admin_headers
    )

    assert_refused(response, "amount")
    assert stored("transfers") == transfers_before
