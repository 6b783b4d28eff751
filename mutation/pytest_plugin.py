"""Loaded into every pytest run of a mutation run: each in a temporary directory of its own,
each test with the mutated modules' statements built afresh.

mutmut runs two mutants' tests at once in forked processes; pytest's default basetemp is shared
per user and each run prunes the others', so every process takes one under the run's directory.
"""

import os
import shutil
import sys
from pathlib import Path

import pytest

from mutation.modules import import_name, money_modules

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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Forget what the mutated modules built on first use and keep (a functools.cache): mutmut
    maps a function to the tests it sees call it, and a builder whose result is kept is seen
    by the first test that needs it alone, its mutants then run against that test only."""
    if not os.environ.get(RUN_DIRECTORY):
        return
    for name in map(import_name, money_modules()):
        module = sys.modules.get(name)
        for value in vars(module).values() if module else ():
            if getattr(value, "__module__", None) == name and hasattr(value, "cache_clear"):
                value.cache_clear()
