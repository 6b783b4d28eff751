"""flask accounts create | deposit | list: amounts in major units, parsed exactly."""

import re
import uuid

import pytest

from tests import factories


def create(runner, *args: str):
    return runner.invoke(args=["accounts", "create", *args])


def created_account(output: str) -> factories.TestAccount:
    """The id and key that `accounts create` printed."""
    account_id = re.search(r"account id:\s*(\S+)", output).group(1)
    key = re.search(r"api key:\s*(\S+)", output).group(1)
    return factories.TestAccount(str(uuid.UUID(account_id)), key)


def listed_accounts(client, admin_headers) -> list[dict]:
    return client.get("/api/v1/accounts", headers=admin_headers).json["items"]


def test_create_prints_the_id_and_a_key_that_works(runner, factory, client):
    result = create(runner, "--owner", "Ada", "--deposit", "12.50")

    assert result.exit_code == 0, result.output
    account = created_account(result.output)
    assert account.key.startswith("tbk_")
    response = client.get(f"/api/v1/accounts/{account.id}", headers=account.headers)
    assert response.status_code == 200
    assert response.json["owner_name"] == "Ada"
    assert response.json["balance"] == 1250
    assert factory.balance(account) == 1250


def test_create_takes_the_type_bank_and_currency(runner, client, admin_headers):
    result = create(
        runner, "--owner", "Ada", "--type", "savings", "--bank", "Analytical", "--currency", "eur"
    )

    assert result.exit_code == 0, result.output
    account = created_account(result.output)
    read = client.get(f"/api/v1/accounts/{account.id}", headers=admin_headers).json
    assert (read["account_type"], read["bank_name"], read["currency"], read["balance"]) == (
        "savings",
        "Analytical",
        "EUR",
        0,
    )


@pytest.mark.parametrize(
    ("amount", "complaint"),
    [
        ("12.505", "decimals"),
        ("0.001", "decimals"),
        ("twelve", "number"),
        ("-5", "positive"),
        ("NaN", "positive"),
        ("1e30", "largest deposit"),
        ("10000000000.01", "largest deposit"),
    ],
)
def test_create_refuses_an_amount_it_cannot_take_exactly_and_creates_nothing(
    runner, client, admin_headers, amount, complaint
):
    result = create(runner, "--owner", "Ada", "--deposit", amount)

    assert result.exit_code != 0
    assert amount in result.output
    assert complaint in result.output
    assert "Traceback" not in result.output
    assert listed_accounts(client, admin_headers) == []


@pytest.mark.parametrize("currency", ["US", "USDX", "U5D", "ÉUR"])
def test_create_refuses_a_currency_that_is_not_three_latin_letters(
    runner, client, admin_headers, currency
):
    result = create(runner, "--owner", "Ada", "--currency", currency)

    assert result.exit_code != 0
    assert "--currency" in result.output
    assert listed_accounts(client, admin_headers) == []


def test_create_counts_a_currency_without_cents_in_whole_units(runner, factory):
    result = create(runner, "--owner", "Ada", "--currency", "JPY", "--deposit", "1250")
    assert result.exit_code == 0, result.output
    assert factory.balance(created_account(result.output)) == 1250

    refused = create(runner, "--owner", "Bob", "--currency", "JPY", "--deposit", "12.5")
    assert refused.exit_code != 0
    assert "decimals" in refused.output


def test_deposit_adds_the_exact_amount(runner, factory, client, admin_headers):
    account = factory.account("Ada", deposit=1000)

    result = runner.invoke(args=["accounts", "deposit", account.id, "3.25", "--memo", "cli"])

    assert result.exit_code == 0, result.output
    assert factory.balance(account) == 1325
    assert "13.25" in result.output
    [latest, _] = client.get(
        f"/api/v1/accounts/{account.id}/transfers", headers=admin_headers
    ).json["items"]
    assert (latest["amount"], latest["memo"], latest["kind"]) == (325, "cli", "deposit")


@pytest.mark.parametrize("amount", ["0", "0.00", "1.999", "-1", "99999999999999999999"])
def test_deposit_refuses_an_amount_that_is_not_a_positive_exact_one(runner, factory, amount):
    account = factory.account("Ada", deposit=1000)

    result = runner.invoke(args=["accounts", "deposit", account.id, amount])

    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert factory.balance(account) == 1000


def test_deposit_to_an_unknown_account_is_refused(runner):
    unknown = str(uuid.uuid4())
    result = runner.invoke(args=["accounts", "deposit", unknown, "1.00"])
    assert result.exit_code != 0
    assert unknown in result.output


def test_list_shows_every_account_with_its_balance(runner, factory):
    ada = factory.account("Ada Listed", deposit=1250)
    bob = factory.account("Bob Listed", deposit=5)

    result = runner.invoke(args=["accounts", "list"])

    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == {ada.id, bob.id}
    assert "12.50" in lines[ada.id] and "Ada Listed" in lines[ada.id]
    assert "0.05" in lines[bob.id] and "Bob Listed" in lines[bob.id]


def test_list_says_when_there_are_no_accounts(runner):
    result = runner.invoke(args=["accounts", "list"])
    assert result.exit_code == 0
    assert "no accounts" in result.output


def test_create_takes_a_legacy_user_id_and_the_account_shows_it(runner, client):
    result = create(runner, "--owner", "Ada", "--legacy-user-id", "1234567890")

    assert result.exit_code == 0, result.output
    assert "legacy user id: 1234567890" in result.output
    account = created_account(result.output)
    read = client.get(f"/api/v1/accounts/{account.id}", headers=account.headers).json
    assert read["legacy_user_id"] == 1234567890


@pytest.mark.parametrize("value", ["0", "-5", str(2**53), "12.5", "ada"])
def test_create_refuses_a_legacy_user_id_out_of_range(runner, client, admin_headers, value):
    result = create(runner, "--owner", "Ada", "--legacy-user-id", value)

    assert result.exit_code == 2, result.output
    assert "--legacy-user-id" in result.output
    assert listed_accounts(client, admin_headers) == []


def test_create_refuses_a_legacy_user_id_another_account_has(runner, client, admin_headers):
    assert create(runner, "--owner", "Ada", "--legacy-user-id", "42").exit_code == 0

    result = create(runner, "--owner", "Bob", "--legacy-user-id", "42", "--deposit", "5")

    assert result.exit_code == 2, result.output
    assert "Another account already has legacy_user_id 42" in result.output
    assert [item["owner_name"] for item in listed_accounts(client, admin_headers)] == ["Ada"]
