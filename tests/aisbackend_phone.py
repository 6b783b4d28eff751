"""A phone written the way AISBackend's phone_mimic_Script.py is: requests, the key in an
`api_key` header, float amounts, str(datetime.now()) and platform.platform(), nothing else.

The tests drive tapbank with it unchanged, as AISBackend's phones will.
"""

import platform
from datetime import datetime

import requests


class AISBackendPhone:
    """One phone: its server, its account's key and legacy user id, the certificate it trusts."""

    __test__ = False

    def __init__(self, base_url: str, api_key: str, user_id: int, verify: str | bool = True):
        self.base_url = base_url
        self.api_key = api_key
        self.user_id = user_id
        self.verify = verify

    def send(self, key: str, transfer_amount: float) -> requests.Response:
        """The payer's half, as AISBackend's payer phone posts it."""
        payload = {
            "key": key,
            "user_id": self.user_id,
            "transfer_amount": transfer_amount,
            "os_sender": platform.platform(),
            "transaction_time": str(datetime.now()),
        }
        return self._post("/api/v1/send/", payload)

    def receive(self, key: str, sender_id: int, expected_amount: float) -> requests.Response:
        """The payee's half, as AISBackend's payee phone posts it (the path is spelled so)."""
        payload = {
            "key": key,
            "user_id": self.user_id,
            "sender_id": sender_id,
            "expected_amount": expected_amount,
            "os_receiver": platform.platform(),
        }
        return self._post("/api/v1/recieve/", payload)

    def tap(self, key: str) -> requests.Response:
        """The tap, read with the same header."""
        return requests.get(
            f"{self.base_url}/api/v1/taps/{key}",
            headers={"api_key": self.api_key},
            verify=self.verify,
            timeout=30,
        )

    def _post(self, path: str, payload: dict) -> requests.Response:
        return requests.post(
            self.base_url + path,
            json=payload,
            headers={"api_key": self.api_key},
            verify=self.verify,
            timeout=30,
        )
