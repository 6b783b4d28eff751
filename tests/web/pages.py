"""What the browser tests share: screenshots of each state, and the accessibility check."""

from pathlib import Path

SERIOUS = {"serious", "critical"}


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
