"""The certificate `make run-legacy` serves HTTPS with: self-signed for 127.0.0.1 and localhost,
made once under instance/, for AISBackend's clients to trust by file.

Development only: a deployment serves a certificate of its own (or sits behind a TLS proxy).
"""

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERTIFICATE_DIR = "legacy-tls"
CERTIFICATE_FILE = "cert.pem"
KEY_FILE = "key.pem"
# Long enough to set up once; a certificate this close to its end is made again.
LIFETIME = timedelta(days=825)
RENEW_BEFORE = timedelta(days=1)


def development_certificate(instance_path: Path) -> tuple[Path, Path, bool]:
    """The certificate and key files under instance_path, and whether they were made now: they
    are made the first time, and again only when the certificate is unreadable or about to end."""
    folder = instance_path / CERTIFICATE_DIR
    certificate, key = folder / CERTIFICATE_FILE, folder / KEY_FILE
    if key.exists() and _still_good(certificate):
        return certificate, key, False
    folder.mkdir(parents=True, exist_ok=True)
    private_key = ec.generate_private_key(ec.SECP256R1())
    _write(key, _key_pem(private_key), mode=0o600)
    _write(certificate, _self_signed(private_key).public_bytes(serialization.Encoding.PEM))
    return certificate, key, True


def _still_good(certificate: Path) -> bool:
    try:
        loaded = x509.load_pem_x509_certificate(certificate.read_bytes())
    except (OSError, ValueError):
        return False
    return loaded.not_valid_after_utc - RENEW_BEFORE > datetime.now(UTC)


def _self_signed(private_key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    public_key = private_key.public_key()
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))  # a client whose clock is a little behind
        .not_valid_after(now + LIFETIME)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False
        )
        .sign(private_key, hashes.SHA256())
    )


def _key_pem(private_key: ec.EllipticCurvePrivateKey) -> bytes:
    return private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _write(path: Path, content: bytes, mode: int = 0o644) -> None:
    """Write whole or not at all: a server never reads half a file."""
    partial = path.with_suffix(".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)
    os.replace(partial, path)
