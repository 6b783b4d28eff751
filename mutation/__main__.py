"""`python -m mutation [--module PATH]...`: mutation-test the modules that move or guard money.

Runs mutmut over every module named in pyproject.toml's [tool.mutmut] only_mutate, or over those
given, picking up where the last run stopped, then prints each module's score and its
survivors. Each mutant runs only the tests mutmut's stats run saw calling the function it changes.
"""

import argparse
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mutation.modules import ROOT, import_name, money_modules
from mutation.pytest_plugin import RUN_DIRECTORY
from mutation.results import (
    CAUGHT,
    CHECKED,
    UNCAUGHT,
    explained_survivors,
    is_explained,
    module_score,
    sql_case_only,
    verdict_of,
)
from tapbank.embedded_postgres import embedded_server

MUTANTS = ROOT / "mutants"
MUTMUT = str(Path(sys.executable).parent / "mutmut")
TESTING_DOC = ROOT / "docs" / "testing.md"
# A server of its own: `make test` stops the one it started, whoever else still uses it.
SERVER_DATA = ROOT / "instance" / "mutation-postgres"
HEADINGS = " score  killed timeout survived no-tests not-run"


def main(argv: list[str] | None = None) -> int:
    """Run what is left to run, then report; 1 while a survivor is not explained."""
    parser = argparse.ArgumentParser(prog="python -m mutation", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--module", action="append", help="a module, e.g. tapbank/taps/rules.py (repeatable)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument(
        "--again",
        action="store_true",
        help="run again the uncaught mutants docs/testing.md does not explain (after new tests)",
    )
    parser.add_argument("--report", action="store_true", help="only report the last results")
    args = parser.parse_args(argv)
    modules = money_modules()
    for module in args.module or []:
        if module not in modules:
            parser.error(f"{module} is not mutated; pyproject.toml's only_mutate names {modules}")
    chosen = args.module or modules
    if not args.report:
        code = run(chosen, args.jobs, named=bool(args.module), again=args.again)
        if code:
            return code
    return report(chosen)


def run(modules: list[str], jobs: int, *, named: bool, again: bool) -> int:
    """Run mutmut over the mutants of these modules that have no verdict yet (and, again, over
    those not caught); mutmut alone resumes a whole run, and reruns every mutant named to it."""
    _refresh_unmutated_copies()
    names: list[str] = []
    if named or again:
        names = [name for module in modules for name in _unfinished(module, again=again)]
        if not names:
            sys.stdout.write("every mutant asked for has its verdict already\n")
            return 0
    _forget_stale_stats()
    with _test_server() as url, tempfile.TemporaryDirectory(prefix="tapbank-mutation-") as tmp:
        env = os.environ | {"TAPBANK_TEST_DATABASE_URL": url, RUN_DIRECTORY: tmp}
        command = [MUTMUT, "run", "--max-children", str(jobs), *names]
        return subprocess.run(command, cwd=ROOT, env=env).returncode


def _unfinished(module: str, *, again: bool) -> list[str]:
    """The module's mutants to run, as mutmut names them (a pattern before its first run or
    after its source changed): those without a verdict and, again, those not caught that are
    not known to be equivalent."""
    score = module_score(ROOT, module)
    if score is None or _changed(module):
        return [import_name(module) + ".*"]
    if not again:
        return score.pending
    explained = explained_survivors(TESTING_DOC)
    uncaught = [name for name in score.named(*UNCAUGHT) if not is_explained(name, explained)]
    return score.pending + [name for name in uncaught if not sql_case_only(_diff(name))]


def _meta(module: str) -> Path:
    return MUTANTS / f"{module}.meta"


def _changed(module: str) -> bool:
    """Whether the module's source changed since mutmut last made its mutants."""
    return not _meta(module).exists() or (
        (ROOT / module).stat().st_mtime > _meta(module).stat().st_mtime
    )


def _forget_stale_stats() -> None:
    """Have mutmut record again which tests call which function when a mutated module changed:
    it keeps what it recorded for a function that changed since, and has nothing for a new one,
    whose mutants it would then find no test for."""
    stats = MUTANTS / "mutmut-stats.json"
    if stats.exists() and any(_changed(module) for module in money_modules()):
        sys.stdout.write("a mutated module changed: mutmut records again which tests call what\n")
        stats.unlink()


def _refresh_unmutated_copies() -> None:
    """Copy again the package's other files that changed since mutmut first copied them: it
    copies them once, and would otherwise test the mutants against stale neighbours."""
    if not MUTANTS.exists():
        return
    mutated = set(money_modules())
    for source in (ROOT / "tapbank").rglob("*"):
        relative = source.relative_to(ROOT)
        copy = MUTANTS / relative
        if (
            source.is_file()
            and "__pycache__" not in relative.parts
            and str(relative) not in mutated
            and copy.exists()
            and not filecmp.cmp(source, copy, shallow=False)
        ):
            shutil.copy2(source, copy)


@contextmanager
def _test_server() -> Iterator[str]:
    given = os.environ.get("TAPBANK_TEST_DATABASE_URL")
    if given:
        yield given
        return
    with embedded_server(SERVER_DATA) as url:
        yield url


def _diff(name: str) -> str:
    shown = subprocess.run([MUTMUT, "show", name], cwd=ROOT, capture_output=True, text=True)
    return shown.stdout.split("\n", 1)[-1]  # past its title line


def report(modules: list[str]) -> int:
    """Print each module's score and every survivor; 1 while one is not in docs/testing.md."""
    explained = explained_survivors(TESTING_DOC)
    total: Counter = Counter()
    uncaught = []
    out = sys.stdout
    out.write(f"\n{'module':32} {HEADINGS}\n")
    for module in modules:
        score = module_score(ROOT, module)
        if score is None:
            out.write(f"{module:32} not run yet\n")
            continue
        counts = score.counts
        total += counts
        percent = "  -  " if score.score is None else f"{score.score:5.1f}%"
        out.write(
            f"{module:32} {percent} {counts['killed']:6} {counts['timeout']:7} "
            f"{counts['survived']:8} {counts['no tests']:8} {counts['not run']:7}\n"
        )
        uncaught += [(name, score.verdicts[name]) for name in score.named(*UNCAUGHT)]
    checked = sum(total[verdict] for verdict in CHECKED)
    caught = sum(total[verdict] for verdict in CAUGHT)
    if checked:
        out.write(f"{'all of these':32} {100 * caught / checked:5.1f}% ({caught} of {checked})\n")
    diffs = {name: _diff(name) for name, _ in uncaught if not is_explained(name, explained)}
    by_rule = [name for name, diff in diffs.items() if sql_case_only(diff)]
    unexplained = [(name, code) for name, code in uncaught if name in diffs and name not in by_rule]
    out.write(
        f"\n{len(uncaught)} mutants not caught: {len(uncaught) - len(diffs)} explained in "
        f"docs/testing.md, {len(by_rule)} only change an SQL text's case (equivalent), "
        f"{len(unexplained)} unexplained\n"
    )
    for name, code in unexplained:
        out.write(f"\n--- {name} ({verdict_of(code)}, not explained)\n{diffs[name]}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
