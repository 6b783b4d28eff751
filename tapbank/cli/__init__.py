"""Command-line tools: thin callers of the domain, registered on the app."""

from flask import Flask


def register_commands(app: Flask) -> None:
    """Add every command group to app.cli."""
    from tapbank.cli.accounts import accounts_cli
    from tapbank.cli.legacy import legacy_cli
    from tapbank.cli.operations import (
        ledger_cli,
        prune_command,
        reconcile_command,
        scheduler_cli,
    )
    from tapbank.cli.taps import demo_cli, tap_cli

    for command in (
        accounts_cli,
        ledger_cli,
        reconcile_command,
        prune_command,
        scheduler_cli,
        tap_cli,
        demo_cli,
        legacy_cli,
    ):
        app.cli.add_command(command)
