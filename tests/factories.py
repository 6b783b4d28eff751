"""Making accounts and halves through the real API, as a phone or operator would."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class TestAccount:
    id: str
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


class Factory:
    """Builds test data over HTTP with the Flask test client."""

    __test__ = False

    def __init__(self, app, client, admin_headers):
        self.app = app
        self.client = client
        self.admin_headers = admin_headers

    def account(self, owner: str = "Ada", deposit: int = 0, **fields) -> TestAccount:
        """Open an account with an opening deposit in minor units."""
        body = {"owner_name": owner, "opening_deposit": deposit, **fields}
        response = self.client.post("/api/v1/accounts", json=body, headers=self.admin_headers)
        assert response.status_code == 201, response.json
        return TestAccount(response.json["account"]["id"], response.json["api_key"])

    def balance(self, account: TestAccount) -> int:
        response = self.client.get(f"/api/v1/accounts/{account.id}", headers=self.admin_headers)
        assert response.status_code == 200, response.json
        return response.json["balance"]

    @staticmethod
    def sender_body(amount: int = 1250, currency: str = "USD", **extra) -> dict:
        return {
            "amount": amount,
            "currency": currency,
            "device": {"os": "ios", "model": "iPhone 16"},
            "tapped_at": datetime.now(UTC).isoformat(),
            **extra,
        }

    @staticmethod
    def receiver_body(sender: TestAccount, amount: int = 1250, currency: str = "USD", **extra):
        return {
            "sender_account_id": sender.id,
            "amount": amount,
            "currency": currency,
            "device": {"os": "android", "model": "Pixel 9"},
            "tapped_at": datetime.now(UTC).isoformat(),
            **extra,
        }

    def send(self, key, payer: TestAccount, body: dict | None = None):
        """PUT the sender half."""
        return self.client.put(
            f"/api/v1/taps/{key}/sender", json=body or self.sender_body(), headers=payer.headers
        )

    def receive(self, key, payee: TestAccount, payer: TestAccount, body: dict | None = None):
        """PUT the receiver half, expecting payer."""
        return self.client.put(
            f"/api/v1/taps/{key}/receiver",
            json=body or self.receiver_body(payer),
            headers=payee.headers,
        )

    def halves_in_order(self, key, payer: TestAccount, payee: TestAccount, sender_first: bool):
        """PUT one half (checked to await the other), then the other; returns the second answer."""
        if sender_first:
            first, awaiting = self.send(key, payer), "awaiting_receiver"
        else:
            first, awaiting = self.receive(key, payee, payer), "awaiting_sender"
        assert (first.status_code, first.json["status"]) == (201, awaiting), first.json
        return self.receive(key, payee, payer) if sender_first else self.send(key, payer)

    def tap(self, payer: TestAccount, payee: TestAccount, amount: int = 1250):
        """Both halves of one tap; returns the second response."""
        key = uuid.uuid4()
        first = self.send(key, payer, self.sender_body(amount))
        assert first.status_code == 201, first.json
        return self.receive(key, payee, payer, self.receiver_body(payer, amount))
