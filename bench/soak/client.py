"""HTTP as a phone does it: a 503 or a dropped connection is retried with backoff (the same key and
body make a retry safe), a 500 is a violation; and the rude client that hangs up mid-request."""

import json
import random
import socket
import threading
import time
from urllib.parse import urlsplit

import requests

from bench.soak.record import Recorder, Request

GIVE_UP_SECONDS = 60.0
TIMEOUT = 20.0


class Client:
    def __init__(self, base_url: str, recorder: Recorder) -> None:
        self.base_url = base_url.rstrip("/")
        self.recorder = recorder
        self._local = threading.local()

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def call(self, method: str, path: str, key: str, body: dict | None = None, kind: str = "put"):
        """(status, json body) of the first answer that is not a 503 or a dropped connection;
        (None, None) after GIVE_UP_SECONDS of those."""
        headers = {"Authorization": f"Bearer {key}"}
        deadline = time.monotonic() + GIVE_UP_SECONDS
        delay = 0.1
        while True:
            started = time.monotonic()
            try:
                response = self._session().request(
                    method, self.base_url + path, json=body, headers=headers, timeout=TIMEOUT
                )
            except requests.RequestException as error:
                self.recorder.request(
                    Request(method, kind, started, time.monotonic(), None, type(error).__name__)
                )
                self._local.session = requests.Session()
            else:
                ended = time.monotonic()
                try:
                    data = response.json()
                except ValueError:
                    data = None
                error = (data or {}).get("error", "") if isinstance(data, dict) else ""
                status = response.status_code
                self.recorder.request(Request(method, kind, started, ended, status, error))
                if response.status_code >= 500 and response.status_code != 503:
                    self.recorder.violation(
                        f"{response.status_code} on {method} {path}: {response.text.strip()[:300]}"
                    )
                    return response.status_code, data
                if response.status_code != 503:
                    return response.status_code, data
            if time.monotonic() > deadline:
                return None, None
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    def hang_up(self, path: str, key: str, body: dict, whole: bool) -> None:
        """Send a PUT over a raw socket, all of it or only part of its body, and close without
        reading the answer."""
        url = urlsplit(self.base_url)
        payload = json.dumps(body).encode()
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        data = head + (payload if whole else payload[: len(payload) // 2])
        try:
            with socket.create_connection((url.hostname, url.port), timeout=5) as sock:
                sock.sendall(data)
                if whole:
                    time.sleep(random.random() * 0.02)
        except OSError:
            pass
        with self.recorder.lock:
            self.recorder.disconnects["whole_request" if whole else "partial_body"] += 1
