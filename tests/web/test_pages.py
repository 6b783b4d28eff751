"""The pages as files: served by tapbank itself with nothing from another site, no key in them;
and the development-only route that hands the demo accounts to a browser on this machine."""

import re
from pathlib import Path

import pytest

from tapbank import create_app
from tapbank.config import ProductionConfig
from tapbank.devtools.demo import DEMO_OWNERS, OPENING_BALANCES
from tapbank.extensions import db
from tests.conftest import ADMIN_KEY

STATIC = Path(__file__).resolve().parents[2] / "tapbank" / "web" / "static"
PAGES = ["/", "/ops"]
DEMO_ROUTE = "/demo/accounts"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


@pytest.fixture(autouse=True)
def instance(app, tmp_path, monkeypatch):
    """The app's instance folder, where the demo keys are kept, in a folder of the test's own."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("path", PAGES)
def test_each_page_is_html_served_with_a_policy_that_keeps_its_keys_at_home(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    assert "tbk_" not in html and ADMIN_KEY not in html


@pytest.mark.parametrize("path", PAGES)
def test_everything_a_page_loads_is_served_by_tapbank_itself(client, path):
    html = client.get(path).get_data(as_text=True)
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)

    loaded = [asset for asset in assets if asset.startswith("/assets/")]
    assert {"/assets/tapbank.css", "/assets/favicon.svg"} <= set(loaded)
    for asset in loaded:
        assert client.get(asset).status_code == 200, asset
    for asset in set(assets) - set(loaded):
        assert asset in PAGES or asset == "/api/docs/" or asset.startswith("#"), asset


def test_no_file_of_the_pages_names_another_site():
    for file in STATIC.iterdir():
        text = file.read_text().replace(SVG_NAMESPACE, "")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", text), file.name


def test_every_module_a_script_imports_is_served(client):
    scripts = [file for file in STATIC.iterdir() if file.suffix == ".js"]
    for script in scripts:
        for imported in re.findall(r'from "\./([\w.]+)"', script.read_text()):
            assert client.get(f"/assets/{imported}").status_code == 200, (script.name, imported)


def test_the_pages_and_the_demo_route_are_not_part_of_the_api_document(client):
    paths = client.get("/api/openapi.json").json["paths"]

    assert not {"/", "/ops", DEMO_ROUTE, "/assets/{filename}"} & set(paths)


# The demo route ----------------------------------------------------------------------------------


def test_a_browser_on_this_machine_gets_the_demo_accounts_made_on_first_use(client, app):
    response = client.get(DEMO_ROUTE)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert [account["owner"] for account in body["accounts"]] == list(DEMO_OWNERS)
    assert body["currency"] == "USD"
    assert body["tap_ttl_seconds"] == app.config["TAPBANK_TAP_TTL_SECONDS"]
    assert body["max_transfer_minor"] == app.config["TAPBANK_MAX_TRANSFER_MINOR"]
    for account in body["accounts"]:
        own = client.get(
            f"/api/v1/accounts/{account['id']}",
            headers={"Authorization": f"Bearer {account['key']}"},
        )
        assert own.status_code == 200
        assert own.json["balance"] == OPENING_BALANCES[account["owner"]]
    assert client.get(DEMO_ROUTE).json == body, "the same accounts again, not new ones"


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "localhost"])
def test_the_demo_route_answers_a_page_that_named_this_machine(client, host):
    assert_demo_accounts(client.get(DEMO_ROUTE, headers={"Host": host}))


@pytest.mark.parametrize("address", ["::1", "127.0.0.2"])
def test_the_demo_route_answers_any_loopback_address(client, address):
    assert_demo_accounts(client.get(DEMO_ROUTE, environ_base={"REMOTE_ADDR": address}))


def assert_demo_accounts(response) -> None:
    assert response.status_code == 200
    assert [account["owner"] for account in response.json["accounts"]] == list(DEMO_OWNERS)


def assert_refused(response) -> None:
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"
    assert "tbk_" not in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["10.0.0.7", "203.0.113.9", "2001:db8::1"])
def test_the_demo_route_refuses_another_machine(client, address):
    assert_refused(client.get(DEMO_ROUTE, environ_base={"REMOTE_ADDR": address}))
    assert db.session.scalar(db.text("SELECT count(*) FROM accounts")) == 1  # the funding one


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded"])
def test_the_demo_route_refuses_a_request_an_undeclared_proxy_forwarded(client, header):
    assert_refused(client.get(DEMO_ROUTE, headers={header: "203.0.113.9"}))


def test_the_demo_route_refuses_a_page_of_another_site_that_resolves_here(client):
    # DNS rebinding: evil.example resolves to 127.0.0.1, and its page asks for its own host.
    assert_refused(client.get(DEMO_ROUTE, headers={"Host": "evil.example:5000"}))


def test_behind_a_declared_proxy_the_demo_route_goes_by_the_forwarded_client(apps, instance):
    behind_proxy = apps(TAPBANK_TRUSTED_PROXIES=1)
    behind_proxy.instance_path = str(instance)
    client = behind_proxy.test_client()

    far = client.get(DEMO_ROUTE, headers={"X-Forwarded-For": "203.0.113.9"})
    local = client.get(DEMO_ROUTE, headers={"X-Forwarded-For": "127.0.0.1"})

    assert_refused(far)
    assert local.status_code == 200


@pytest.fixture
def production_client(migrated_app, database_url, tmp_path):
    config = ProductionConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_ADMIN_KEY = ADMIN_KEY
    production = create_app(config)
    production.instance_path = str(tmp_path)
    yield production.test_client()
    with production.app_context():
        db.engine.dispose()


def test_production_has_no_demo_route_but_serves_the_pages(production_client, tmp_path):
    response = production_client.get(DEMO_ROUTE)

    assert response.status_code == 404
    assert response.json["error"] == "not_found"
    assert not any(tmp_path.iterdir()), "no demo keys written"
    for path in PAGES:
        assert production_client.get(path).status_code == 200
