"""tapbank: two phones tap, the backend pairs the halves and settles them in a ledger."""

from flask import Flask

from tapbank.config import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the app for the given settings, or for TAPBANK_ENV's."""
    from tapbank.app_setup import build_app

    return build_app(config)
