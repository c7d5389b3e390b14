"""Compare two runs of benchmarks/run.py instance by instance: a refactoring must not move a result.

    python benchmarks/same_objectives.py BEFORE.json AFTER.json [--markdown]

For every (size, seed, scenario) in both runs it compares the status, each level's value and
bound, the scheduled patients and the model's size (variables and constraints). Exit 1 if any
differs. Solve times are printed beside each other but never compared: they are noise on a
shared two-core machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _key(run: dict[str, Any]) -> tuple[str, int, str]:
    return run["size"], run["seed"], run["scenario"]


def _figures(run: dict[str, Any]) -> dict[str, Any]:
    """What a behaviour-preserving change must leave exactly as it was."""
    return {
        "status": run["status"],
        "levels": [(lv["measure"], lv["value"], lv["bound"]) for lv in run["levels"]],
        "scheduled": run["scheduled"],
        "variables": run["variables"],
        "constraints": run["constraints"],
        "violations": run["violations"],
    }


def compare(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[str]:
    """One line per instance run in both: `same` or what differs."""
    after_by_key = {_key(run): run for run in after}
    lines = []
    for run in before:
        other = after_by_key.get(_key(run))
        if other is None:
            continue
        a, b = _figures(run), _figures(other)
        differs = [name for name in a if a[name] != b[name]]
        size, seed, scenario = _key(run)
        levels = " / ".join(f"{value:g}" for _, value, _ in a["levels"])
        verdict = "same" if not differs else "DIFFERENT: " + ", ".join(differs)
        lines.append(
            f"| {size} | {seed} | {scenario} | {a['status']} | {levels} | {a['variables']} "
            f"| {run['solve_seconds']:.2f} | {other['solve_seconds']:.2f} | {verdict} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the comparison table; exit 1 when any instance differs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    before = json.loads(args.before.read_text())["runs"]
    after = json.loads(args.after.read_text())["runs"]
    lines = compare(before, after)
    print(
        "| size | seed | scenario | status | levels (weight / changes / wait) | variables "
        "| before s | after s | verdict |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(lines))
    return 0 if lines and all(line.endswith("same |") for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
