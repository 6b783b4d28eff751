"""flask legacy certificate: a certificate for 127.0.0.1 made once under instance/."""

import ipaddress
import re
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509

from tapbank.devtools.certificate import development_certificate


@pytest.fixture
def instance(app, tmp_path, monkeypatch):
    """The app's instance folder, for this test only."""
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    return tmp_path


def printed_certificate(output: str) -> Path:
    return Path(re.search(r"certificate: (\S+)", output).group(1))


def test_the_certificate_is_made_once_under_instance_and_its_path_printed(runner, instance):
    first = runner.invoke(args=["legacy", "certificate"])

    assert first.exit_code == 0, first.output
    path = printed_certificate(first.output)
    assert path == instance / "legacy-tls" / "cert.pem"
    assert "made now" in first.output
    key = instance / "legacy-tls" / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    made = path.read_bytes()

    again = runner.invoke(args=["legacy", "certificate"])

    assert again.exit_code == 0
    assert "made before" in again.output
    assert printed_certificate(again.output) == path
    assert path.read_bytes() == made


def test_the_certificate_names_127_0_0_1_and_localhost(tmp_path):
    path, _, _ = development_certificate(tmp_path)
    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert certificate.not_valid_after_utc > datetime.now(UTC) + timedelta(days=365)


@pytest.mark.parametrize("damage", ["unreadable", "missing-key"])
def test_a_damaged_certificate_is_made_again(tmp_path, damage):
    path, key, _ = development_certificate(tmp_path)
    if damage == "unreadable":
        path.write_text("not a certificate")
    else:
        key.unlink()

    again, _, made = development_certificate(tmp_path)

    assert made
    assert x509.load_pem_x509_certificate(again.read_bytes())
    assert key.exists()
