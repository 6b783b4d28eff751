"""What the browser tests share: the tap page as a person uses it, screenshots of each state,
and the accessibility check."""

from pathlib import Path

import requests

from tests.conftest import ADMIN_KEY
from tests.web.conftest import TTL_SECONDS

SERIOUS = {"serious", "critical"}


class TapPage:
    """The page as a person uses it, and what tapbank recorded, read with the admin key."""

    def __init__(self, page, server):
        self.page = page
        self.url = server.url
        page.goto(f"{server.url}/")
        page.wait_for_selector("body[data-ready=true]")
        page.fill("#delay", "0")

    def press(self, button: str) -> None:
        """Press a button and wait until the tap it started has ended on every phone."""
        self.page.click(f"#{button}")
        self.wait()

    def wait(self) -> None:
        self.page.wait_for_selector("#tap:not([aria-disabled])", timeout=(TTL_SECONDS + 15) * 1000)

    def outcome(self, role: str) -> str:
        return self.page.inner_text(f"#{role}-outcome")

    def owner(self, role: str) -> str:
        return self.page.eval_on_selector(f"#{role}-account", "s => s.selectedOptions[0].text")

    def account_id(self, role: str) -> str:
        return self.page.input_value(f"#{role}-account")

    def tap_key(self) -> str:
        """The key the payer's phone made for the last tap, as its log shows it."""
        return self.page.inner_text("#payer-steps code")

    def recorded(self, key: str) -> dict:
        return self.api(f"/api/v1/taps/{key}")

    def balance(self, account_id: str) -> int:
        return self.api(f"/api/v1/accounts/{account_id}")["balance"]

    def api(self, path: str) -> dict:
        response = requests.get(
            f"{self.url}{path}", headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=5
        )
        assert response.status_code == 200, response.text
        return response.json()


def screenshot(page, folder: Path, name: str) -> None:
    """Save the whole page as it is now, as folder/name.png."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def assert_no_serious_violations(page) -> None:
    """axe-core (as axe-playwright-python ships it) finds nothing serious or critical."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    serious = [
        f"{violation['id']} ({violation['impact']}): {violation['help']}: "
        + ", ".join(str(node["target"]) for node in violation["nodes"])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]
    assert serious == [], "\n".join(serious)
