"""Command-line tools: thin callers of the domain, registered on the app."""

from flask import Flask


def register_commands(app: Flask) -> None:
    """Add every command group to app.cli."""
    from tapbank.cli.accounts import accounts_cli

    app.cli.add_command(accounts_cli)
