"""The soak run's report: a table on the terminal and bench/results/soak-latest.json."""

import json
from pathlib import Path

from bench.database import ROOT

RESULT = ROOT / "bench" / "results" / "soak-latest.json"


def rows(report: dict) -> list[tuple[str, object]]:
    out = [
        ("duration (s)", report["duration_s"]),
        ("accounts", report["accounts"]),
        ("taps made", report["taps_made"]),
        ("taps acknowledged (a 2xx half)", report["taps_acknowledged"]),
        ("halves acknowledged", report["halves_acknowledged"]),
    ]
    out += [(name, count) for name, count in sorted(report["outcomes"].items())]
    out += [(f"fault: {kind}", count) for kind, count in sorted(report["faults"].items())]
    out += [(f"fault: disconnect ({kind})", n) for kind, n in sorted(report["disconnects"].items())]
    out += [(name, count) for name, count in sorted(report["responses"].items())]
    latency = report["latency_ms"]
    out += [
        ("PUT latency outside faults: count", latency["count"]),
        ("PUT latency outside faults: p50 (ms)", latency["p50"]),
        ("PUT latency outside faults: p99 (ms)", latency["p99"]),
        ("balances: opening total", report["balances"].get("opening_total")),
        ("balances: final total", report["balances"].get("final_total")),
        ("set aside at the end", report["set_aside"]),
        ("ledger verify", report["ledger_verify"]),
        ("violations", len(report["violations"])),
    ]
    return out


def show(report: dict) -> None:
    table = rows(report)
    width = max(len(name) for name, _ in table)
    print()
    print(f"{'soak':<{width}}  value")
    print(f"{'-' * width}  {'-' * 12}")
    for name, value in table:
        print(f"{name:<{width}}  {value}")
    for violation in report["violations"][:50]:
        print(f"VIOLATION: {violation}")
    if len(report["violations"]) > 50:
        print(f"... and {len(report['violations']) - 50} more (see {RESULT})")


def write(report: dict, path: Path = RESULT) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"written to {path.relative_to(ROOT)}")
