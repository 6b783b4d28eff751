"""The domain's refusals reach HTTP through errors.py alone, each as its own status and code."""

import re
import uuid

import pytest
from flask import Flask

from tapbank import create_app, domain_errors
from tapbank.extensions import db
from tapbank.ledger.postings import Posting, post_transfer
from tapbank.models import TransferKind
from tests.conftest import make_config


def descendants(error_class: type) -> list[type]:
    """Every subclass of error_class, however deep."""
    return [
        grand for child in error_class.__subclasses__() for grand in [child, *descendants(child)]
    ]


FAMILY = descendants(domain_errors.DomainError)


@pytest.fixture(scope="module")
def app_with_a_new_caller(database_url, migrated_app) -> Flask:
    """An app with one route added, as the first new caller of the ledger would be: it posts a
    transfer and lets any refusal go, catching nothing."""
    app = create_app(make_config(database_url))

    @app.post("/new-caller/<uuid:debit>/<uuid:credit>/<int:amount>/<currency>")
    def post_a_transfer(debit, credit, amount, currency):
        posting = Posting(debit, credit, amount, currency, TransferKind.DEPOSIT, memo="test")
        post_transfer(db.session, posting)
        db.session.commit()
        return {"ok": True}

    @app.post("/raise/<name>")
    def raise_one(name):
        error_class = getattr(domain_errors, name)
        raise error_class("sender") if error_class is domain_errors.HalfConflict else error_class()

    yield app
    with app.app_context():
        db.engine.dispose()


def test_every_domain_error_names_a_client_or_busy_status_and_a_snake_case_code():
    assert len(FAMILY) >= 4
    for error in FAMILY:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", error.error_code), error
        assert 400 <= error.http_status < 500 or error.http_status == 503, error


@pytest.mark.parametrize("error_class", FAMILY, ids=lambda error: error.__name__)
def test_each_domain_error_is_answered_as_its_status_and_code(
    app, app_with_a_new_caller, error_class
):
    response = app_with_a_new_caller.test_client().post(f"/raise/{error_class.__name__}")

    assert response.status_code == error_class.http_status
    assert response.json["error"] == error_class.error_code
    assert response.json["code"] == error_class.http_status
    assert response.json["message"]
    if error_class.retry_after_seconds is not None:
        assert response.headers["Retry-After"] == str(error_class.retry_after_seconds)


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [(501, "USD", "insufficient_funds"), (100, "EUR", "currency_mismatch")],
    ids=["overdrawn", "another currency"],
)
def test_a_transfer_the_ledger_refuses_through_a_new_caller_is_a_422_and_moves_nothing(
    app, app_with_a_new_caller, factory, amount, currency, error
):
    payer, payee = factory.account("Ada", deposit=500), factory.account("Bob")

    response = app_with_a_new_caller.test_client().post(
        f"/new-caller/{payer.id}/{payee.id}/{amount}/{currency}"
    )

    assert response.status_code == 422
    assert response.json["error"] == error
    assert (factory.balance(payer), factory.balance(payee)) == (500, 0)


def test_a_transfer_naming_an_unknown_account_through_a_new_caller_is_a_404(
    app, app_with_a_new_caller, factory
):
    payee = factory.account("Bob")

    response = app_with_a_new_caller.test_client().post(
        f"/new-caller/{uuid.uuid4()}/{payee.id}/100/USD"
    )

    assert response.status_code == 404
    assert response.json["error"] == "account_not_found"
    assert factory.balance(payee) == 0
