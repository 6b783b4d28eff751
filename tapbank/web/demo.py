"""The demo accounts, with their keys, for the tap page on this machine; never in production."""

import ipaddress
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request

from tapbank.devtools.demo import demo_accounts
from tapbank.errors import ApiError
from tapbank.extensions import db

demo = Blueprint("demo", __name__)

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


@demo.get("/demo/accounts")
def accounts():
    """The demo accounts (made on first use) and what the page needs to tap with them."""
    _refuse_unless_local()
    made = demo_accounts(
        db.session, Path(current_app.instance_path), current_app.config["TAPBANK_CURRENCY"]
    )
    db.session.commit()
    response = jsonify(
        accounts=[{"owner": a.owner, "id": a.id, "key": a.key} for a in made],
        currency=current_app.config["TAPBANK_CURRENCY"],
        tap_ttl_seconds=current_app.config["TAPBANK_TAP_TTL_SECONDS"],
        max_transfer_minor=current_app.config["TAPBANK_MAX_TRANSFER_MINOR"],
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _refuse_unless_local() -> None:
    """403 unless a browser on this machine asked for this machine by a loopback name."""
    if not (_from_loopback() and _addressed_to_loopback()):
        raise ApiError(
            403,
            "forbidden",
            "The demo accounts are given only to a browser on the machine tapbank runs on.",
        )


def _from_loopback() -> bool:
    # Behind a proxy not declared in TAPBANK_TRUSTED_PROXIES, the client is somewhere else.
    forwarded = "Forwarded" in request.headers or "X-Forwarded-For" in request.headers
    if forwarded and not current_app.config["TAPBANK_TRUSTED_PROXIES"]:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _addressed_to_loopback() -> bool:
    # A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) names its own host.
    host = request.host.lower()
    return (host if host.endswith("]") else host.rsplit(":", 1)[0]) in LOCAL_HOSTS
