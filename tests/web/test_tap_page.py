"""`/` in a real browser: two phones tap through the public API, each failure button makes the
tap fail for its reason, a bound tap refuses a stranger, on a phone's screen, by keyboard alone,
and with no serious accessibility violation."""

import re
import uuid

import pytest
import requests

from tests.conftest import ADMIN_KEY
from tests.web.conftest import PHONE_VIEWPORT, TTL_SECONDS
from tests.web.pages import TapPage, assert_no_serious_violations, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROLES = ("payer", "payee", "stranger")
FAILED = "The tap failed. No money moved."


@pytest.fixture
def tap_page(page, web_server) -> TapPage:
    return TapPage(page, web_server)


def balances(tap_page: TapPage) -> dict[str, int]:
    return {role: tap_page.balance(tap_page.account_id(role)) for role in ROLES}


def test_a_tap_settles_and_each_phone_shows_its_new_balance(tap_page, screenshots):
    assert (tap_page.owner("payer"), tap_page.owner("payee")) == ("Alice Demo", "Bob Demo")
    before = balances(tap_page)
    screenshot(tap_page.page, screenshots, "tap-ready")

    tap_page.press("tap")

    key = tap_page.tap_key()
    assert uuid.UUID(key).version == 4, "the payer's phone made a random key"
    tap = tap_page.recorded(key)
    assert tap["status"] == "settled"
    assert tap["sender"]["receiver_account_id"] == tap_page.account_id("payee"), "bound"
    after = balances(tap_page)
    assert after["payer"] == before["payer"] - 1250
    assert after["payee"] == before["payee"] + 1250
    payer, payee = tap_page.outcome("payer"), tap_page.outcome("payee")
    assert "Paid 12.50 USD to Bob Demo." in payer
    assert f"New balance: {major(after['payer'])} USD." in payer
    assert "Received 12.50 USD from Alice Demo." in payee
    assert f"New balance: {major(after['payee'])} USD." in payee
    assert key not in tap_page.page.url
    screenshot(tap_page.page, screenshots, "tap-settled")


def major(minor: int) -> str:
    return f"{minor / 100:,.2f}"


def test_the_order_the_delay_and_the_binding_are_the_pages_to_choose(tap_page, screenshots):
    page = tap_page.page
    page.fill("#amount", "3.05")
    page.uncheck("#bind")
    page.check("#order-payee")
    page.fill("#delay", "600")

    page.click("#tap")
    page.wait_for_selector("#payee-outcome:has-text('waits for the payer')")
    screenshot(page, screenshots, "tap-payee-first-waiting")
    tap_page.wait()

    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["status"] == "settled" and tap["transfer"]["amount"] == 305
    assert tap["sender"]["receiver_account_id"] is None, "not bound"
    assert tap["receiver"]["received_at"] < tap["sender"]["received_at"]
    assert "Paid 3.05 USD to Bob Demo." in tap_page.outcome("payer")


def test_an_amount_that_is_not_one_is_refused_on_the_page_and_nothing_is_sent(tap_page):
    before = tap_page.api("/api/v1/transfers?limit=1")
    tap_page.page.fill("#amount", "12.505")

    tap_page.press("tap")

    assert "USD has 2 decimals at most." in tap_page.page.inner_text("#notice")
    assert tap_page.api("/api/v1/transfers?limit=1") == before


# Each failure button: what both phones are told, and the reason tapbank recorded.
FAILURES = [
    ("fail-amount", "amount_mismatch", "The two phones entered different amounts."),
    ("fail-payer", "sender_mismatch", "The payee's phone expected a different payer."),
    ("fail-currency", "currency_mismatch", "The two phones used different currencies."),
    ("fail-overdraw", "insufficient_funds", "The payer's balance does not cover the amount."),
]


@pytest.mark.parametrize(("button", "reason", "words"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_button_makes_the_tap_fail_for_its_reason(
    tap_page, screenshots, button, reason, words
):
    before = balances(tap_page)

    tap_page.press(button)

    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["status"] == "failed"
    assert [item["reason"] for item in tap["failure"]["reasons"]] == [reason]
    for role in ("payer", "payee"):
        told = tap_page.outcome(role)
        assert FAILED in told and words in told, told
        assert "unchanged" in told
    after = {role: tap_page.balance(tap_page.account_id(role)) for role in ROLES}
    assert sorted(after.values()) == sorted(before.values()), "no money moved"
    screenshot(tap_page.page, screenshots, f"failed-{reason}")


def test_overdraw_has_the_phone_with_the_small_balance_pay_one_unit_more_than_it_holds(tap_page):
    tap_page.press("fail-overdraw")

    assert tap_page.owner("payer") == "Carol Demo"
    assert tap_page.owner("stranger") == "Alice Demo"
    assert "so the phones swap" in tap_page.page.inner_text("#notice")
    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["sender"]["amount"] == tap_page.balance(tap_page.account_id("payer")) + 100


def test_a_lone_half_counts_down_then_fails_as_expired(tap_page, screenshots):
    page = tap_page.page

    page.click("#fail-expire")
    page.wait_for_selector("#payer-countdown:has-text('Expires in')")
    screenshot(page, screenshots, "lone-half-counting-down")
    seconds = int(re.search(r"Expires in (\d+) s", page.inner_text("#payer-countdown"))[1])
    assert 1 <= seconds <= TTL_SECONDS
    tap_page.wait()

    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["status"] == "failed" and tap["receiver"] is None
    assert [item["reason"] for item in tap["failure"]["reasons"]] == ["expired"]
    told = tap_page.outcome("payer")
    assert FAILED in told and "did not arrive in time" in told
    assert "never sent its half" in tap_page.outcome("payee")
    assert page.inner_text("#payer-countdown") == ""
    screenshot(page, screenshots, "failed-expired")


def test_a_strangers_half_before_the_payees_fails_the_bound_tap(tap_page, screenshots):
    tap_page.page.uncheck("#bind")  # the button binds the tap whatever the box says
    before = balances(tap_page)

    tap_page.press("fail-stranger")

    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["status"] == "failed"
    assert [item["reason"] for item in tap["failure"]["reasons"]] == ["receiver_mismatch"]
    assert tap["receiver"]["account_id"] == tap_page.account_id("stranger")
    for role in ("payer", "stranger"):
        assert "a stranger's phone answered the tap first" in tap_page.outcome(role)
    assert "Another phone already sent this side of the tap" in tap_page.outcome("payee")
    assert balances(tap_page) == before
    screenshot(tap_page.page, screenshots, "failed-receiver-mismatch")


def test_a_bound_tap_refuses_a_stranger_and_pays_its_payee(tap_page, screenshots):
    before = balances(tap_page)

    tap_page.press("refuse-stranger")

    tap = tap_page.recorded(tap_page.tap_key())
    assert tap["status"] == "settled"
    assert tap["transfer"]["receiver_account_id"] == tap_page.account_id("payee")
    assert "names another account as its payee" in tap_page.outcome("stranger")
    assert "409 receiver_not_named" in tap_page.page.inner_text("#stranger-steps")
    assert "Received 12.50 USD" in tap_page.outcome("payee")
    after = balances(tap_page)
    assert after["stranger"] == before["stranger"]
    assert after["payee"] == before["payee"] + 1250
    screenshot(tap_page.page, screenshots, "bound-tap-refused-a-stranger")


def test_keys_stay_in_session_storage_never_in_the_page_or_its_address(tap_page):
    tap_page.press("tap")

    stored = tap_page.page.evaluate("sessionStorage.getItem('tapbank.accounts')")
    keys = re.findall(r"tbk_[\w-]+", stored)
    assert len(keys) == 3
    html = tap_page.page.content()
    assert not any(key in html or key in tap_page.page.url for key in keys)
    assert tap_page.page.evaluate("localStorage.length") == 0
    assert tap_page.page.context.cookies() == []


def test_another_account_can_be_used_by_pasting_its_id_and_key(tap_page):
    opened = requests.post(
        f"{tap_page.url}/api/v1/accounts",
        json={"owner_name": "Dana Pasted", "opening_deposit": 5_000},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        timeout=5,
    ).json()
    dana_id = opened["account"]["id"]
    page = tap_page.page

    page.select_option("#payee-account", "")
    page.fill("#payee-id", dana_id)
    page.fill("#payee-key", opened["api_key"])
    page.click("#payee-use")
    page.wait_for_selector("#payee-balance:has-text('Dana Pasted: balance 50.00 USD')")
    assert page.input_value("#payee-key") == ""
    tap_page.press("tap")

    assert "Paid 12.50 USD to Dana Pasted." in tap_page.outcome("payer")
    assert tap_page.balance(dana_id) == 5_000 + 1250


def test_the_page_works_on_a_phone_sized_screen(browser, web_server, screenshots):
    context = browser.new_context(viewport=PHONE_VIEWPORT, is_mobile=True, has_touch=True)
    phone = TapPage(context.new_page(), web_server)
    page = phone.page
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        screenshot(page, screenshots, "phone-ready")

        page.tap("#tap")
        phone.wait()

        assert "Paid 12.50 USD" in phone.outcome("payer")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
        box = page.locator("#tap").bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0
        screenshot(page, screenshots, "phone-settled")
    finally:
        context.close()


def focus_order(page, presses: int) -> list[str]:
    """The id of each element that Tab reaches, in order, from the top of the page."""
    order = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    return order


def test_everything_can_be_done_with_the_keyboard_alone(tap_page, screenshots):
    page = tap_page.page
    page.reload()  # nothing focused, nothing filled in
    page.wait_for_selector("body[data-ready=true]")

    order = focus_order(page, 24)

    expected = [
        "amount",
        "bind",
        "order-payer",
        "delay",
        "tap",
        "payer-account",
        "payee-account",
        "fail-amount",
        "fail-payer",
        "fail-overdraw",
        "fail-currency",
        "fail-expire",
        "fail-stranger",
        "refuse-stranger",
        "stranger-account",
    ]
    reached = [element for element in order if element in expected]
    assert reached == expected, order
    assert order[0] == "A", "the skip link first"
    # The skip link comes first and lands on the tap's settings.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "amount"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"

    page.keyboard.press("Control+A")
    page.keyboard.type("4.20")
    for _ in range(3):  # past the binding and the order, to the delay
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "delay"
    page.keyboard.press("Control+A")
    page.keyboard.type("0")
    page.keyboard.press("Enter")  # submits the tap form
    tap_page.wait()
    assert "Paid 4.20 USD to Bob Demo." in tap_page.outcome("payer")

    page.focus("#order-payer")
    page.keyboard.press("ArrowDown")
    assert page.is_checked("#order-payee")
    page.focus("#fail-amount")
    page.keyboard.press("Enter")
    tap_page.wait()
    assert "The two phones entered different amounts." in tap_page.outcome("payee")
    page.focus("#fail-currency")
    page.keyboard.press("Space")
    tap_page.wait()
    assert "The two phones used different currencies." in tap_page.outcome("payee")
    screenshot(page, screenshots, "keyboard-only")


def test_the_page_has_no_serious_accessibility_violation_before_and_after_taps(tap_page):
    assert_no_serious_violations(tap_page.page)

    tap_page.press("tap")
    assert_no_serious_violations(tap_page.page)
    tap_page.press("fail-stranger")
    assert_no_serious_violations(tap_page.page)
