"""The pages in a real browser: Debian's chromium driven by Playwright, against a real gunicorn
with the embedded reconciler and a short TTL, as `make run` serves them."""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import ADMIN_KEY, clear_tables
from tests.live_server import LiveServer

TTL_SECONDS = 3
# Debian's chromium: Playwright's own browser download is not reachable from here.
CHROMIUM_NAMES = ("chromium", "chromium-browser")
PHONE_VIEWPORT = {"width": 390, "height": 844}
DESKTOP_VIEWPORT = {"width": 1280, "height": 900}


def chromium_path() -> str:
    """TAPBANK_CHROMIUM, or the system's chromium; fails saying how to install it."""
    given = os.environ.get("TAPBANK_CHROMIUM")
    found = given or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if not found:
        pytest.fail("no chromium: `make test` installs it (apt-get install chromium)")
    return found


@pytest.fixture(scope="session")
def browser():
    """One headless chromium for the run."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path())
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory, request):
    """The folder each state's screenshot goes to, printed at the end of the run."""
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    request.config.stash[SCREENSHOTS] = folder
    return folder


SCREENSHOTS = pytest.StashKey[Path]()


def pytest_terminal_summary(terminalreporter, config):
    folder = config.stash.get(SCREENSHOTS, None)
    if folder is not None:
        terminalreporter.write_line(f"browser screenshots: {folder}")


@pytest.fixture(scope="module")
def web_server(migrated_app, database_url, tmp_path_factory):
    """gunicorn on the test database, emptied first, with the embedded reconciler and its demo
    keys in a folder of its own; yields its URL."""
    with migrated_app.app_context():
        clear_tables()
    folder = tmp_path_factory.mktemp("web-server")
    server = LiveServer(
        database_url,
        ADMIN_KEY,
        workers=1,
        threads=4,
        folder=folder,
        settings={
            "TAPBANK_SCHEDULER": "embedded",
            "TAPBANK_TAP_TTL_SECONDS": str(TTL_SECONDS),
            "TAPBANK_RECONCILE_INTERVAL_MS": "200",
        },
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, request):
    """A fresh tab (its own session storage) on a desktop-sized screen."""
    context = browser.new_context(viewport=DESKTOP_VIEWPORT)
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    yield tab
    context.close()
