"""Bearer keys: 256 random bits behind a recognisable prefix, kept only as digests."""

import base64
import stat

from tapbank import create_app
from tapbank.config import DevelopmentConfig
from tapbank.extensions import db
from tapbank.keys import (
    ACCOUNT_KEY_PREFIX,
    ADMIN_KEY_PREFIX,
    development_admin_key,
    key_digest,
    key_fingerprint,
    new_account_key,
    new_admin_key,
)


def random_bytes_of(key: str, prefix: str) -> bytes:
    assert key.startswith(prefix)
    secret = key[len(prefix) :]
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def test_an_account_key_has_a_prefix_and_256_random_bits():
    keys = [new_account_key() for _ in range(200)]
    assert all(len(random_bytes_of(key, ACCOUNT_KEY_PREFIX)) == 32 for key in keys)
    assert len(set(keys)) == len(keys)


def test_an_admin_key_has_its_own_prefix_and_256_random_bits():
    key = new_admin_key()
    assert len(random_bytes_of(key, ADMIN_KEY_PREFIX)) == 32
    assert ADMIN_KEY_PREFIX != ACCOUNT_KEY_PREFIX


def test_a_digest_and_a_fingerprint_reveal_neither_the_key_nor_each_other():
    key = new_account_key()
    digest, fingerprint = key_digest(key), key_fingerprint(key)

    assert digest == key_digest(key) and fingerprint == key_fingerprint(key)
    assert key[len(ACCOUNT_KEY_PREFIX) :] not in digest
    assert len(fingerprint) <= 16
    assert fingerprint not in digest
    assert key_digest(new_account_key()) != digest


def test_digests_and_fingerprints_are_made_today_as_they_were_when_they_were_stored():
    # Stored digests authenticate keys made before an upgrade; recorded fingerprints are compared
    # with new ones. Either derivation changing would orphan what is stored.
    key = "tbk_a-key-for-this-test-only"

    assert key_digest(key) == "7a072ca800dd03f5d9779254e0fafe184c88de347dd723350197c6adbf6333df"
    assert key_fingerprint(key) == "465b9087c883"


def test_the_development_admin_key_is_made_once_private_and_kept(tmp_path):
    key, made = development_admin_key(tmp_path / "instance")
    again, made_again = development_admin_key(tmp_path / "instance")

    assert made and not made_again
    assert again == key
    assert len(random_bytes_of(key, ADMIN_KEY_PREFIX)) >= 32
    mode = stat.S_IMODE((tmp_path / "instance" / "admin.key").stat().st_mode)
    assert mode & 0o077 == 0


def test_the_development_admin_key_is_made_in_an_instance_folder_new_or_already_there(tmp_path):
    # A fresh clone has no instance/ (nor, in a container, its parent); a clone that ran the
    # server before has instance/ with the database in it, but maybe no key yet.
    nested = tmp_path / "checkout" / "instance"
    existing = tmp_path / "instance"
    (existing / "postgres").mkdir(parents=True)

    for instance in (nested, existing):
        key, made = development_admin_key(instance)
        assert made
        assert (instance / "admin.key").read_text().strip() == key


def test_a_development_app_without_an_admin_key_uses_the_kept_one(
    migrated_app, database_url, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)  # the app's instance/ folder is under the working directory
    monkeypatch.delenv("TAPBANK_ADMIN_KEY", raising=False)
    config = DevelopmentConfig()
    config.SQLALCHEMY_DATABASE_URI = database_url
    config.TAPBANK_SCHEDULER = "off"

    app = create_app(config)
    try:
        key = (tmp_path / "instance" / "admin.key").read_text().strip()
        response = app.test_client().get(
            "/api/v1/accounts", headers={"Authorization": f"Bearer {key}"}
        )
        assert app.config["TAPBANK_ADMIN_KEY"] == key
        assert response.status_code == 200
    finally:
        with app.app_context():
            db.engine.dispose()
