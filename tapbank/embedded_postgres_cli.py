"""`python -m tapbank.embedded_postgres_cli`: make's hold on an embedded PostgreSQL server.

run DATA_DIR -- COMMAND...   run COMMAND with the server up; stop it after if this started it
stop DATA_DIR                stop the server if it is running
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

from tapbank.embedded_postgres import embedded_server, stop_server


def run(data_dir: Path, command: list[str]) -> int:
    """Run command with the server on data_dir up; its exit code."""
    if os.environ.get("DATABASE_URL"):  # the app uses that server, never the embedded one
        return _run_to_the_end(command)
    with embedded_server(data_dir):
        return _run_to_the_end(command)


def stop(data_dir: Path) -> None:
    """Stop the server on data_dir, saying whether one was running."""
    if stop_server(data_dir):
        sys.stdout.write(f"stopped the PostgreSQL server on {data_dir}\n")
    else:
        sys.stdout.write(f"no PostgreSQL server is running on {data_dir}\n")


def _run_to_the_end(command: list[str]) -> int:
    # Ctrl-C, SIGTERM (which make passes on to its recipe) or SIGHUP (a closed terminal) must end
    # the command, not this process before it: the server is stopped only once the command no
    # longer uses it. Ctrl-C also reaches the command straight from the terminal; a second SIGINT
    # changes nothing for the shell or gunicorn.
    child = subprocess.Popen(command)
    signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {
        number: signal.signal(number, lambda received, _frame: child.send_signal(received))
        for number in signals
    }
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


def main(argv: list[str] | None = None) -> int:
    """Parse the action and do it."""
    parser = argparse.ArgumentParser(
        prog="python -m tapbank.embedded_postgres_cli", description=__doc__.splitlines()[0]
    )
    actions = parser.add_subparsers(dest="action", required=True)
    run_parser = actions.add_parser("run", help="run a command with the server up")
    run_parser.add_argument("data_dir", type=Path)
    run_parser.add_argument("command", nargs="+")
    stop_parser = actions.add_parser("stop", help="stop the server if it is running")
    stop_parser.add_argument("data_dir", type=Path)
    args = parser.parse_args(argv)
    if args.action == "run":
        return run(args.data_dir, args.command)
    stop(args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
