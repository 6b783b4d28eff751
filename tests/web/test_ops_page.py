"""`/ops` in a real browser: with the admin key entered, it shows the scheduler, the transfers,
failures and failed authentications the tap page made and a chart of taps per second, refreshes
by itself, and says plainly when the database or the API cannot be reached."""

import uuid
from datetime import UTC, datetime

import pytest
import requests

from tests.conftest import ADMIN_KEY
from tests.live_server import LiveServer
from tests.web.conftest import PHONE_VIEWPORT
from tests.web.pages import TapPage, assert_no_serious_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REFRESH_WAIT_MS = 10_000


class Phones:
    """The demo accounts, tapping over HTTP as phones do, while the page is watching."""

    def __init__(self, url: str):
        self.url = url
        demo = requests.get(f"{url}/demo/accounts", timeout=5)
        assert demo.status_code == 200, demo.text
        self.alice, self.bob, self.carol = demo.json()["accounts"]

    def tap(self, payer: dict, payee: dict, amount: int):
        """Both halves; returns the tap as the second answer has it."""
        key = str(uuid.uuid4())
        half = {
            "amount": amount,
            "currency": "USD",
            "device": {"os": "test"},
            "tapped_at": datetime.now(UTC).isoformat(),
        }
        self.put(key, "sender", payer, half)
        receiver = half | {"sender_account_id": payer["id"]}
        return self.put(key, "receiver", payee, receiver)

    def put(self, key: str, side: str, phone: dict, body: dict) -> dict:
        response = requests.put(
            f"{self.url}/api/v1/taps/{key}/{side}",
            json=body,
            headers={"Authorization": f"Bearer {phone['key']}"},
            timeout=5,
        )
        assert response.status_code == 201, response.text
        return response.json()


def watch(page, url: str, key: str = ADMIN_KEY) -> None:
    """Open /ops and enter the key as an operator does."""
    page.goto(f"{url}/ops")
    page.fill("#admin-key", key)
    page.press("#admin-key", "Enter")


def banner(page, words: str) -> None:
    page.wait_for_selector(f"#connection:has-text('{words}')", timeout=REFRESH_WAIT_MS)


def test_the_ops_page_shows_the_taps_the_tap_page_made(page, web_server, screenshots):
    tap_page = TapPage(page, web_server)
    tap_page.press("tap")
    settled = tap_page.tap_key()
    tap_page.press("fail-amount")
    failed = tap_page.tap_key()
    wrong = requests.get(
        f"{web_server.url}/api/v1/scheduler", headers={"Authorization": "Bearer nope"}, timeout=5
    )
    assert wrong.status_code == 401

    watch(page, web_server.url)
    banner(page, "Connected: tapbank and its database answer.")

    workers = page.inner_text("#workers")
    assert "running" in workers and "s ago" in workers
    jobs = page.inner_text("#jobs")
    assert all(job in jobs for job in ("reconcile", "expire", "heartbeat"))
    assert "Healthy" in page.inner_text("#scheduler-health")
    assert "Matched pairs waiting" in page.inner_text("#backlog")
    transfers = page.inner_text("#transfers")
    assert settled[:8] in transfers and "12.50 USD" in transfers
    failures = page.inner_text("#failures")
    assert failed[:8] in failures and "amount_mismatch" in failures
    assert "/api/v1/scheduler" in page.inner_text("#auth-failures")
    summary = page.inner_text("#chart-summary")
    assert "In the last 3 minutes: 1 settled and 1 failed." in summary
    assert page.locator("#chart rect.settled").count() >= 1
    assert page.locator("#chart rect.failed").count() >= 1
    screenshot(page, screenshots, "ops-watching")

    # It refreshes by itself, without reloading the page.
    page.evaluate("window.stillTheSamePage = true")
    phones = Phones(web_server.url)
    later = phones.tap(phones.bob, phones.alice, 300)
    page.wait_for_selector(f"#transfers:has-text('{later['key'][:8]}')", timeout=REFRESH_WAIT_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    assert "2 settled and 1 failed" in page.inner_text("#chart-summary")

    assert ADMIN_KEY not in page.content() and ADMIN_KEY not in page.url
    assert page.evaluate("sessionStorage.getItem('tapbank.adminKey')") == ADMIN_KEY
    assert_no_serious_violations(page)


def test_a_key_that_is_not_the_admin_key_is_refused_and_forgotten(page, web_server):
    watch(page, web_server.url, "tbadmin_not-the-key")

    banner(page, "That key was refused (401). Enter the admin key again.")
    assert page.evaluate("sessionStorage.getItem('tapbank.adminKey')") is None

    carol = Phones(web_server.url).carol
    watch(page, web_server.url, carol["key"])
    banner(page, "That key is not the admin key (403)")


def test_updates_can_be_paused_and_the_key_forgotten(page, web_server):
    watch(page, web_server.url)
    banner(page, "Connected")

    page.click("#pause")
    assert page.get_attribute("#pause", "aria-pressed") == "true"
    assert page.inner_text("#pause") == "Resume updates"
    page.click("#forget")

    banner(page, "The key is forgotten.")
    assert page.evaluate("sessionStorage.getItem('tapbank.adminKey')") is None


def test_the_ops_page_works_on_a_phone_sized_screen(browser, web_server, screenshots):
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True)
    page = context.new_page()
    try:
        watch(page, web_server.url)
        banner(page, "Connected")

        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        assert_no_serious_violations(page)
        screenshot(page, screenshots, "ops-phone")
    finally:
        context.close()


def test_the_ops_page_says_plainly_when_the_database_then_the_api_cannot_be_reached(
    page, outage_server, screenshots
):
    server = LiveServer(outage_server.url, ADMIN_KEY, workers=1, threads=2)
    server.start()
    try:
        watch(page, server.url)
        banner(page, "Connected")

        outage_server.stop()
        banner(page, "tapbank answers, but its database cannot be reached (503).")
        assert "What is shown is from" in page.inner_text("#connection")
        screenshot(page, screenshots, "ops-database-unreachable")

        outage_server.start()
        banner(page, "Connected")

        server.stop()
        banner(page, "tapbank cannot be reached at")
        assert "Is it running?" in page.inner_text("#connection")
        screenshot(page, screenshots, "ops-api-unreachable")
    finally:
        server.stop()
