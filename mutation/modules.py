"""The modules mutmut mutates: pyproject.toml's [tool.mutmut] only_mutate."""

import tomllib
from pathlib import Path

# The project, or mutmut's copy of it under mutants/ when a mutant's tests import this.
ROOT = Path(__file__).resolve().parent.parent


def money_modules() -> list[str]:
    """The modules mutmut mutates, as paths."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return config["tool"]["mutmut"]["only_mutate"]


def import_name(module: str) -> str:
    """A module's path as Python imports it: tapbank/keys.py is tapbank.keys."""
    return module.removesuffix(".py").replace("/", ".")
