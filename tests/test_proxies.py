"""Behind TAPBANK_TRUSTED_PROXIES proxies, the client's address comes from X-Forwarded-For."""

from sqlalchemy import text

from tapbank import create_app
from tapbank.extensions import db
from tests.conftest import make_config


def _recorded_addresses() -> set[str]:
    return set(db.session.scalars(text("SELECT client_address FROM auth_failures")))


def test_a_trusted_proxy_hop_gives_the_client_address(app, database_url):
    proxied = create_app(make_config(database_url, TAPBANK_TRUSTED_PROXIES=1))
    proxied.test_client().get(
        "/api/v1/accounts",
        headers={"Authorization": "Bearer tbk_wrong", "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert _recorded_addresses() == {"203.0.113.9"}


def test_without_trusted_proxies_a_forwarded_header_is_ignored(app, client):
    client.get(
        "/api/v1/accounts",
        headers={"Authorization": "Bearer tbk_wrong", "X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert _recorded_addresses() == {"10.0.0.2"}
