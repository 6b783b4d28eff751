"""Each currency has its own funding account, so every currency's ledger sums to zero."""

from sqlalchemy import text

from tapbank.extensions import db
from tapbank.models.accounts import FUNDING_ACCOUNT_ID, funding_account_id


def test_a_deposit_in_euros_comes_from_the_euro_funding_account(client, factory, admin_headers):
    euro = factory.account("Eva", deposit=5000, currency="EUR")
    dollar = factory.account("Dan", deposit=700)

    history = client.get(f"/api/v1/accounts/{euro.id}/transfers", headers=admin_headers).json
    assert history["items"][0]["counterparty_account_id"] == str(funding_account_id("EUR"))
    assert funding_account_id("EUR") != FUNDING_ACCOUNT_ID

    sums = {
        currency: total
        for currency, total in db.session.execute(
            text("SELECT currency, sum(balance) FROM accounts GROUP BY currency")
        )
    }
    assert sums == {"EUR": 0, "USD": 0}
    assert factory.balance(euro) == 5000
    assert factory.balance(dollar) == 700


def test_every_transfer_is_in_the_currency_of_both_its_accounts(factory):
    factory.account("Eva", deposit=5000, currency="EUR")
    factory.account("Dan", deposit=700, currency="USD")
    mixed = db.session.execute(
        text(
            "SELECT count(*) FROM transfers t JOIN accounts d ON d.id = t.debit_account_id "
            "JOIN accounts c ON c.id = t.credit_account_id "
            "WHERE t.currency <> d.currency OR t.currency <> c.currency"
        )
    ).scalar_one()
    assert mixed == 0
