"""What a mutation run found: each mutant's verdict from mutmut's files, scored per module."""

import fnmatch
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

# mutmut's exit codes, as its own results table reads them.
KILLED = {1, 3, 37}  # a test failed or errored
TIMEOUTS = {36, 24, -24, 152, 255}  # the tests ran past their time: the mutant hangs them
SURVIVED = {0}
NO_TESTS = {5, 33}  # no test of the selection calls the mutated function in-process
SKIPPED = {34}
CAUGHT = ("killed", "timeout")
UNCAUGHT = ("survived", "no tests", "suspicious")
CHECKED = CAUGHT + UNCAUGHT

# A survivor is explained when docs/testing.md names it, e.g. `tapbank.keys.x_key_digest__mutmut_3`,
# or names every mutant of its function, `tapbank.keys.x_key_digest__mutmut_*`.
MUTANT_NAME = re.compile(r"tapbank\.[\w.ǁ]+__mutmut_(?:\d+|\*)")


@dataclass
class ModuleScore:
    """One module's verdicts."""

    module: str
    verdicts: dict[str, int | None]

    def named(self, *verdicts: str) -> list[str]:
        """The mutants with one of these verdicts, in the order mutmut numbers them."""
        found = (name for name, code in self.verdicts.items() if verdict_of(code) in verdicts)
        return sorted(found, key=_natural)

    @property
    def pending(self) -> list[str]:
        """The mutants not yet run."""
        return self.named("not run")

    @property
    def counts(self) -> Counter:
        """How many mutants of each verdict."""
        return Counter(verdict_of(code) for code in self.verdicts.values())

    @property
    def score(self) -> float | None:
        """Caught (killed or timed out) over checked (run, or found to have no test), in percent."""
        counts = self.counts
        checked = sum(counts[verdict] for verdict in CHECKED)
        return 100 * sum(counts[verdict] for verdict in CAUGHT) / checked if checked else None


def verdict_of(code: int | None) -> str:
    """The verdict mutmut's exit code for a mutant means."""
    if code is None:
        return "not run"
    if code in KILLED:
        return "killed"
    if code in TIMEOUTS:
        return "timeout"
    if code in SURVIVED:
        return "survived"
    if code in NO_TESTS:
        return "no tests"
    if code in SKIPPED:
        return "skipped"
    return "suspicious"


def _natural(name: str) -> tuple[str, int]:
    stem, _, number = name.rpartition("__mutmut_")
    return stem, int(number)


def module_score(root: Path, module: str) -> ModuleScore | None:
    """The verdicts of module (a path like tapbank/keys.py), or None before its first run."""
    meta = root / "mutants" / f"{module}.meta"
    if not meta.exists():
        return None
    return ModuleScore(module, json.loads(meta.read_text())["exit_code_by_key"])


def explained_survivors(testing_doc: Path) -> set[str]:
    """The mutant names (or patterns) docs/testing.md explains."""
    return set(MUTANT_NAME.findall(testing_doc.read_text())) if testing_doc.exists() else set()


def is_explained(name: str, explained: set[str]) -> bool:
    """Whether docs/testing.md names this mutant, or its function's mutants as a whole."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in explained)


# SQL keywords and unquoted names are case-insensitive: a mutant that only changes the case of
# an SQL statement, leaving its quoted literals and parameter names as they were, is equivalent.
SQL_KEYWORD = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|SET|CAST|AS|AND|ANY|IN)\b")
CASE_SENSITIVE = re.compile(r"'[^']*'|%\(\w+\)s|(?<!:):\w+", re.IGNORECASE)


def sql_case_only(diff: str) -> bool:
    """Whether a mutant's diff (as `mutmut show` prints it) only changes an SQL text's case."""
    lines = diff.splitlines()
    removed = [line[1:] for line in lines if line.startswith("-") and not line.startswith("---")]
    added = [line[1:] for line in lines if line.startswith("+") and not line.startswith("+++")]
    return (
        bool(removed)
        and len(removed) == len(added)
        and all(
            old != new
            and old.lower() == new.lower()
            and SQL_KEYWORD.search(old) is not None
            and CASE_SENSITIVE.findall(old) == CASE_SENSITIVE.findall(new)
            for old, new in zip(removed, added, strict=True)
        )
    )
