"""Taps that must fail for one reason each, sent through the real HTTP code path in-process."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import ARRAY, Uuid, bindparam, text
from sqlalchemy.orm import Session

from tapbank.devtools.demo import DemoAccount
from tapbank.extensions import db
from tapbank.ledger.accounts import open_account
from tapbank.models import AccountType
from tapbank.owner_role import owner_session

KINDS = (
    "sender-mismatch",
    "amount-mismatch",
    "currency-mismatch",
    "insufficient-funds",
    "expired",
    "self-transfer",
    "receiver-mismatch",
)
AMOUNT = 1250


# Every moment a tap records, in each table that records it.
TAP_TIMES = (
    "UPDATE taps SET created_at = created_at - :by, matched_at = matched_at - :by "
    "WHERE key = ANY(:keys)",
    "UPDATE tap_queue SET created_at = created_at - :by, matched_at = matched_at - :by "
    "WHERE tap_key = ANY(:keys)",
    "UPDATE halves SET received_at = received_at - :by WHERE tap_key = ANY(:keys)",
)


def age_taps(session: Session, keys: list, by: timedelta) -> None:
    """Make taps not yet ended look as if their halves had arrived `by` earlier; commits."""
    for statement in TAP_TIMES:
        session.execute(
            text(statement).bindparams(bindparam("keys", type_=ARRAY(Uuid()))),
            {"keys": [uuid.UUID(str(key)) for key in keys], "by": by},
        )
    session.commit()


class InjectionRefused(Exception):
    """The app refused an injected half, so the tap cannot fail for the reason meant."""


class Injector:
    """Sends halves as phones would, with an app's test client (views, schemas, intake)."""

    def __init__(self, app: Flask, payer: DemoAccount, payee: DemoAccount, currency: str):
        self.app = app
        self.client = app.test_client()
        self.payer = payer
        self.payee = payee
        self.currency = currency

    def inject(self, kind: str) -> str:
        """Make one tap that must fail for kind; returns its key."""
        makers: dict[str, Callable[[str], None]] = {
            "sender-mismatch": lambda key: self._pair(key, expected_payer=str(uuid.uuid4())),
            "amount-mismatch": lambda key: self._pair(key, receiver_amount=AMOUNT + 1),
            "currency-mismatch": lambda key: self._pair(
                key, receiver_currency=_other(self.currency)
            ),
            "insufficient-funds": lambda key: self._pair(
                key, payer=self._new_account("Empty Wallet (injected)")
            ),
            "expired": self._lone_half_past_its_ttl,
            "self-transfer": lambda key: self._pair(key, payee=self.payer),
            "receiver-mismatch": self._strangers_half_before_the_bound_one,
        }
        key = str(uuid.uuid4())
        makers[kind](key)
        return key

    def _pair(
        self,
        key: str,
        *,
        payer: DemoAccount | None = None,
        payee: DemoAccount | None = None,
        expected_payer: str | None = None,
        receiver_amount: int = AMOUNT,
        receiver_currency: str | None = None,
    ) -> None:
        payer, payee = payer or self.payer, payee or self.payee
        self._put(key, "sender", payer, self._body(AMOUNT, self.currency))
        receiver = self._body(receiver_amount, receiver_currency or self.currency)
        receiver["sender_account_id"] = expected_payer or payer.id
        self._put(key, "receiver", payee, receiver)

    def _lone_half_past_its_ttl(self, key: str) -> None:
        """A sender half whose partner never came, dated TTL ago so the expiry job takes it now."""
        self._put(key, "sender", self.payer, self._body(AMOUNT, self.currency))
        ttl = timedelta(seconds=self.app.config["TAPBANK_TAP_TTL_SECONDS"])
        with owner_session() as session:  # the runtime role may not rewrite a half
            age_taps(session, [key], ttl + timedelta(seconds=1))

    def _strangers_half_before_the_bound_one(self, key: str) -> None:
        """An overheard key: a stranger's receiver half first, then the payer's half, which
        names the real payee."""
        stranger = self._new_account("Stranger (injected)")
        receiver = self._body(AMOUNT, self.currency) | {"sender_account_id": self.payer.id}
        self._put(key, "receiver", stranger, receiver)
        sender = self._body(AMOUNT, self.currency) | {"receiver_account_id": self.payee.id}
        self._put(key, "sender", self.payer, sender)

    def _new_account(self, owner_name: str) -> DemoAccount:
        """An account with nothing in it, opened for one injected tap."""
        account, key = open_account(
            db.session,
            owner_name=owner_name,
            account_type=AccountType.CHECKING,
            bank_name="tapbank demo",
            currency=self.currency,
        )
        db.session.commit()
        return DemoAccount(account.owner_name, str(account.id), key)

    def _put(self, key: str, side: str, phone: DemoAccount, body: dict) -> None:
        response = self.client.put(
            f"/api/v1/taps/{key}/{side}",
            json=body,
            headers={"Authorization": f"Bearer {phone.key}"},
        )
        if response.status_code not in (200, 201):
            raise InjectionRefused(f"the {side} half was refused: {response.json['message']}")

    @staticmethod
    def _body(amount: int, currency: str) -> dict:
        return {
            "amount": amount,
            "currency": currency,
            "device": {"os": "injected", "model": "tapbank inject-error"},
            "tapped_at": datetime.now(UTC).isoformat(),
        }


def _other(currency: str) -> str:
    return "EUR" if currency != "EUR" else "USD"
