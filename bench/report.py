"""The run's table (targets with PASS/MISS) and bench/results/latest.json.

Targets are judged here and only here, and only reported: a MISS is a finding, not a failure.
A measurement that could not be made shows as ERROR, with the reason among the notes.
"""

import json
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Row:
    """One line of the table: a figure, its baseline, their ratio and the target."""

    name: str  # stable across runs: the key of its verdict in latest.json
    number: int
    label: str
    tapbank: str
    baseline: str = ""
    ratio: str = ""
    target: str = ""
    verdict: Callable[[dict], bool | None] | None = None  # None: reported, not judged


def at_least(key: str, bound: float) -> Callable[[dict], bool | None]:
    """Holds when the figure is at least bound."""
    return _compare(key, bound, operator.ge)


def at_most(key: str, bound: float) -> Callable[[dict], bool | None]:
    """Holds when the figure is at most bound."""
    return _compare(key, bound, operator.le)


def _compare(key: str, bound: float, holds) -> Callable[[dict], bool | None]:
    def verdict(figures: dict) -> bool | None:
        value = figures.get(key)
        return None if value is None else holds(value, bound)

    return verdict


def is_true(key: str) -> Callable[[dict], bool | None]:
    """Holds when the figure is True."""
    return _compare(key, True, operator.is_)


def both(*verdicts) -> Callable[[dict], bool | None]:
    """Holds when every verdict holds; unknown when any is."""

    def verdict(figures: dict) -> bool | None:
        results = [check(figures) for check in verdicts]
        return None if None in results else all(results)

    return verdict


def number(value: float | None, unit: str = "", digits: int = 0) -> str:
    """12,345 pairs/s; 'error' when the figure is missing."""
    if value is None:
        return "error"
    return f"{value:,.{digits}f}{' ' + unit if unit else ''}"


def times(value: float | None) -> str:
    """A ratio as 1.23x; 'error' when it is missing."""
    return "error" if value is None else f"{value:.2f}x"


def judge(rows: list[Row], figures: dict) -> dict[str, str]:
    """PASS, MISS or ERROR for every judged row, by its name."""
    names = {True: "PASS", False: "MISS", None: "ERROR"}
    return {row.name: names[row.verdict(figures)] for row in rows if row.verdict is not None}


def table(title: list[str], rows: list[Row], verdicts: dict[str, str], notes: list[str]) -> str:
    """The table as text, the title lines above it and the notes below."""
    header = ("#", "measurement", "tapbank", "baseline", "ratio", "target", "result")
    lines = [
        (
            str(row.number),
            row.label,
            row.tapbank,
            row.baseline,
            row.ratio,
            row.target,
            verdicts.get(row.name, "-"),
        )
        for row in rows
    ]
    widths = [max(len(cells[i]) for cells in [header, *lines]) for i in range(len(header))]
    rule = "  ".join("-" * width for width in widths)

    def render(cells) -> str:
        return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))

    out = [*title, "", render(header), rule, *(render(cells) for cells in lines), rule]
    if notes:
        out += ["", "notes:", *(f"  - {note}" for note in notes)]
    return "\n".join(line.rstrip() for line in out)


def write_json(
    figures: dict, verdicts: dict[str, str], run: dict, notes: list[str], partial: bool
) -> Path:
    """Every figure at the top level (None where it was not measured), then the rest.

    A full run writes latest.json; a run of some steps only writes partial.json, so that it never
    replaces the last full run's figures.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / ("partial.json" if partial else "latest.json")
    rounded = {key: round(v, 3) if isinstance(v, float) else v for key, v in figures.items()}
    document = {**rounded, "targets": verdicts, "run": run, "notes": notes}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return path
