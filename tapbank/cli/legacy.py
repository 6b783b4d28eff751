"""flask legacy certificate: the HTTPS certificate AISBackend's clients trust by file."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

legacy_cli = AppGroup("legacy", help="AISBackend's clients: the certificate make run-legacy uses.")


@legacy_cli.command("certificate")
def certificate():
    """Make (once) the self-signed certificate for 127.0.0.1 under instance/; print its path."""
    # Imported here: cryptography is a development tool, not in the production image.
    from tapbank.devtools.certificate import development_certificate

    cert, key, made = development_certificate(Path(current_app.instance_path))
    click.echo(f"certificate: {cert}  ({'made now' if made else 'made before'})")
    click.echo(f"key:         {key}")
    click.echo(f"AISBackend's clients trust it by file: requests.post(url, ..., verify='{cert}')")
