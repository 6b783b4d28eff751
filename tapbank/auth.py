"""Who is calling: bearer-key authentication, failure records and the per-address limit.

AISBackend's clients send the same keys in an `api_key` header; the routes they use take it too,
through the very same checks, records and limit.
"""

import ipaddress
import math
import uuid
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import bindparam, func, select

from tapbank.errors import ApiError
from tapbank.extensions import db
from tapbank.keys import digests_match, key_digest, key_fingerprint
from tapbank.models import Account, AuthFailure

# The header AISBackend's clients send their key in.
API_KEY_HEADER = "api_key"

# Every authenticated request runs this: built once, as Core, to keep it cheap.
ACCOUNT_BY_KEY_DIGEST = select(Account.__table__.c.id).where(
    Account.__table__.c.api_key_digest == bindparam("digest")
)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller: the operator, or one account."""

    account_id: uuid.UUID | None

    @property
    def is_admin(self) -> bool:
        return self.account_id is None

    @property
    def caller(self) -> str:
        """Who this is, as records name it: 'admin' or the account's id, never a key."""
        return "admin" if self.is_admin else str(self.account_id)

    def may_see(self, account_id: uuid.UUID) -> bool:
        """The admin sees every account; an account sees only itself."""
        return self.is_admin or self.account_id == account_id


def authenticate(*, api_key_header: bool = False) -> Principal:
    """Authenticate the current request or raise 401/429; remembers the result on g. With
    api_key_header, a key in the `api_key` header counts as a bearer key.

    Only failures are limited: past the limit a failing attempt gets 429 instead of 401, while a
    valid key is served, so guessing stops without locking out customers behind the same NAT.
    """
    if "principal" in g:
        return g.principal
    presented = _presented_key(api_key_header)
    principal = _principal_for(presented) if presented else None
    if principal is None:
        _refuse(presented)
    g.principal = principal
    return principal


def _refuse(presented: str | None) -> None:
    """A failed authentication: 429 past the limit, else recorded and 401."""
    _refuse_if_rate_limited(client_network(_client_address()))
    _record_failure(presented)
    raise ApiError(
        401,
        "unauthorized",
        "A valid bearer key is required." if presented else "No bearer key was sent.",
        headers={"WWW-Authenticate": 'Bearer realm="tapbank"'},
    )


def require_admin() -> Principal:
    """Authenticate and insist on the operator's key."""
    principal = authenticate()
    if not principal.is_admin:
        raise ApiError(403, "forbidden", "This route is for the operator's key only.")
    return principal


def require_account(*, api_key_header: bool = False) -> Principal:
    """Authenticate and insist on an account's key (the operator acts for no account)."""
    principal = authenticate(api_key_header=api_key_header)
    if principal.is_admin:
        raise ApiError(
            403, "forbidden", "This route takes an account's own key, not the operator's."
        )
    return principal


def account_key() -> str:
    """The presented key's digest, for a route that looks it up in its own statement.

    What needs no lookup is refused here as require_account refuses it (no key: 401 or 429; the
    operator's key: 403). When the statement finds no account for the digest, the route calls
    key_names_no_account.
    """
    presented = _presented_key(api_key_header=False)
    digest = key_digest(presented) if presented else None
    if digest is None or _is_admin_digest(digest):
        require_account()  # raises
    return digest


def key_names_no_account() -> None:
    """A route's statement found no account for the presented key: refused as authenticate
    refuses it (429 past the limit, else recorded and 401)."""
    _refuse(_presented_key(api_key_header=False))


def _is_admin_digest(digest: str) -> bool:
    admin_key = current_app.config["TAPBANK_ADMIN_KEY"]
    return bool(admin_key) and digests_match(digest, key_digest(admin_key))


def _presented_key(api_key_header: bool) -> str | None:
    """The bearer key; failing that, where taken, the `api_key` header's."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() == "bearer" and key.strip():
        return key.strip()
    if api_key_header:
        return request.headers.get(API_KEY_HEADER, "").strip() or None
    return None


def _principal_for(key: str) -> Principal | None:
    digest = key_digest(key)
    if _is_admin_digest(digest):
        return Principal(account_id=None)
    account_id = db.session.execute(ACCOUNT_BY_KEY_DIGEST, {"digest": digest}).scalar_one_or_none()
    return Principal(account_id=account_id) if account_id else None


def _client_address() -> str:
    """The address failures are recorded under."""
    return (request.remote_addr or "unknown")[:64]


def client_network(address: str) -> str:
    """What failures are counted under: the address, or for IPv6 its /64, which one client holds
    whole and may walk address by address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:  # an IPv4 client seen through an IPv6 socket
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _record_failure(presented: str | None) -> None:
    rule = request.url_rule.rule if request.url_rule else request.path
    db.session.add(
        AuthFailure(
            client_address=_client_address(),
            client_network=client_network(_client_address()),
            method=request.method[:10],
            route=rule[:300],
            key_fingerprint=key_fingerprint(presented) if presented else None,
        )
    )
    db.session.commit()


def _refuse_if_rate_limited(network: str) -> None:
    limit = current_app.config["TAPBANK_AUTH_FAILURE_LIMIT"]
    window = timedelta(seconds=current_app.config["TAPBANK_AUTH_FAILURE_WINDOW_SECONDS"])
    # The database's clock, so that every API process counts the same window.
    count, seconds_left = db.session.execute(
        select(
            func.count(),
            func.extract("epoch", func.min(AuthFailure.occurred_at) + window - func.now()),
        ).where(
            AuthFailure.client_network == network, AuthFailure.occurred_at > func.now() - window
        )
    ).one()
    if count >= limit:
        raise ApiError(
            429,
            "too_many_failed_authentications",
            "Too many failed authentications from this address; retry later.",
            headers={"Retry-After": str(max(1, math.ceil(seconds_left)))},
        )
