"""Bearer keys: made with 256 bits of randomness, kept only as digests."""

import hashlib
import hmac
import os
import secrets
from pathlib import Path

ACCOUNT_KEY_PREFIX = "tbk_"
ADMIN_KEY_PREFIX = "tbadmin_"


def new_account_key() -> str:
    """A fresh account key: a recognisable prefix and 32 random bytes."""
    return ACCOUNT_KEY_PREFIX + secrets.token_urlsafe(32)


def new_admin_key() -> str:
    """A fresh operator key."""
    return ADMIN_KEY_PREFIX + secrets.token_urlsafe(32)


def key_digest(key: str) -> str:
    """The SHA-256 digest a key is stored as; the key itself has enough entropy for no salt."""
    return hashlib.sha256(key.encode()).hexdigest()


def key_fingerprint(key: str) -> str:
    """A short label that tells keys apart in logs without revealing them or their digest."""
    return hashlib.sha256(b"fingerprint:" + key.encode()).hexdigest()[:12]


def digests_match(left: str, right: str) -> bool:
    """Compare two digests in constant time."""
    return hmac.compare_digest(left, right)


def development_admin_key(instance_path: Path) -> tuple[str, bool]:
    """The development admin key kept under instance/; made on first use. Returns (key, new)."""
    path = instance_path / "admin.key"
    if path.exists():
        return path.read_text().strip(), False
    instance_path.mkdir(parents=True, exist_ok=True)
    key = new_admin_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key, True
