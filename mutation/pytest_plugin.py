"""Loaded into every pytest run of a mutation run: each in a temporary directory of its own.

mutmut runs two mutants' tests at once in forked processes; pytest's default basetemp is shared
per user and each run prunes the others', so every process takes one under the run's directory.
"""

import os
import shutil
from pathlib import Path

import pytest

RUN_DIRECTORY = "TAPBANK_MUTATION_TMP"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Give this process its own basetemp, unless one was given."""
    if config.option.basetemp is None and os.environ.get(RUN_DIRECTORY):
        config.option.basetemp = str(_own_directory())


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove this process's directory: a mutation run makes hundreds."""
    if os.environ.get(RUN_DIRECTORY):
        shutil.rmtree(_own_directory(), ignore_errors=True)


def _own_directory() -> Path:
    return Path(os.environ[RUN_DIRECTORY]) / f"pytest-{os.getpid()}"
