"""Robust against deterministic plans on the same sampled runs (issue 17 part 2).

    python benchmarks/robust_bench.py [--sizes m l] [--scenarios normal overload] [--runs 60]
        [--seed 1] [--time-limit 60] [--processes 2] [--quantile 0.8] [--method soft|reserve]
        [--json benchmarks/robust.json]
        [--markdown]

For each generated site (seed 1): the deterministic plan (`solve`) and the robust plan
(`solve --robust`, default rates and settings; with the soft method both come from the same
deterministic search, `solve_soft_pair`), both simulated with the repair policy on the
SAME runs (same simulation seed: common random numbers, so differences are paired per run).
Reported per plan: treated weight, late-or-untreated patients, rescued patients and the rescue
delay of failed patients (mean with a 95 % interval), the paired difference robust minus
deterministic, and the nominal cost: scheduled weight given up when nothing fails.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from generator import generate_instance  # noqa: E402
from models import Instance, Schedule, load_instance  # noqa: E402
from scheduler.search.outcome import SolveOptions  # noqa: E402
from scheduler.workflows.robust import (  # noqa: E402
    RobustConfig,
    solve_robust,
    solve_soft_pair,
)
from scheduler.workflows.simulate import SimulationConfig, local_mapper, simulate  # noqa: E402
from scheduler.workflows.solve import solve  # noqa: E402
from validator import validate  # noqa: E402

MEASURES = ("treated_weight", "late_or_untreated", "rescued_patients", "rescue_delay_days_mean")


def _interval(values: list[float]) -> dict[str, float | None]:
    """Mean and a normal-approximation 95 % interval of the mean."""
    finite = [v for v in values if v is not None and not math.isnan(v)]
    if not finite:
        return {"n": 0, "mean": None, "low": None, "high": None}
    mean = statistics.fmean(finite)
    half = 1.96 * statistics.stdev(finite) / math.sqrt(len(finite)) if len(finite) > 1 else 0.0
    return {"n": len(finite), "mean": mean, "low": mean - half, "high": mean + half}


def _per_run(report: dict[str, Any], measure: str) -> list[float | None]:
    values: list[float | None] = []
    for run in report["runs"]:
        value = run["policy"].get(measure)
        values.append(None if value is None else float(value))
    return values


def _paired(first: list[float | None], second: list[float | None]) -> dict[str, float | None]:
    pairs = [b - a for a, b in zip(first, second, strict=True) if a is not None and b is not None]
    return _interval(pairs)


def _instance(size: str, scenario: str, seed: int) -> Instance:
    document = generate_instance(size, seed, scenario)
    path = Path(f"/tmp/robust_bench_{size}_{scenario}_{seed}.json")
    path.write_text(json.dumps(document), encoding="utf-8")
    return load_instance(path)


def bench_one(
    size: str,
    scenario: str,
    seed: int,
    runs: int,
    time_limit: float,
    processes: int,
    quantile: float = 0.8,
    method: str = "soft",
) -> dict[str, Any]:
    """One site: both plans, their validity, and both simulated on the same runs."""
    instance = _instance(size, scenario, seed)
    options = SolveOptions(time_limit=time_limit, workers=2, seed=0)
    load_before = os.getloadavg()
    if method == "soft":
        started = time.monotonic()
        deterministic, robust = solve_soft_pair(
            instance, options, RobustConfig(quantile=quantile, method="soft")
        )
        robust_seconds = time.monotonic() - started
        deterministic_seconds: float | None = None  # inside the robust solve
    else:
        started = time.monotonic()
        deterministic = solve(instance, options)
        deterministic_seconds = time.monotonic() - started
        started = time.monotonic()
        robust = solve_robust(instance, options, RobustConfig(quantile=quantile, method=method))
        robust_seconds = time.monotonic() - started
    plans: dict[str, Schedule] = {"deterministic": deterministic, "robust": robust}
    result: dict[str, Any] = {
        "size": size,
        "scenario": scenario,
        "seed": seed,
        "runs": runs,
        "quantile": quantile,
        "method": method,
        "solve_seconds": {"deterministic": deterministic_seconds, "robust": robust_seconds},
        "robust": getattr(robust, "robust", None),
    }
    for name, plan in plans.items():
        result.setdefault("valid", {})[name] = not validate(instance, plan)
        result.setdefault("objective", {})[name] = (
            plan.objective.model_dump() if plan.objective else None
        )
        result.setdefault("status", {})[name] = plan.status
    det_weight = float(deterministic.objective.scheduled_weight) if deterministic.objective else 0
    rob_weight = float(robust.objective.scheduled_weight) if robust.objective else 0
    result["nominal_weight_given_up"] = det_weight - rob_weight
    result["nominal_weight_given_up_share"] = (
        (det_weight - rob_weight) / det_weight if det_weight else None
    )
    config = SimulationConfig(runs=runs, seed=seed, references=())
    reports = {}
    for name, plan in plans.items():
        started = time.monotonic()
        reports[name] = simulate(instance, plan, config, mapper=local_mapper(processes))
        result.setdefault("simulate_seconds", {})[name] = time.monotonic() - started
        result.setdefault("invalid_final_plans", {})[name] = len(
            reports[name]["checks"].get("invalid_plans", [])
        )
    for measure in MEASURES:
        det = _per_run(reports["deterministic"], measure)
        rob = _per_run(reports["robust"], measure)
        result.setdefault("measures", {})[measure] = {
            "deterministic": _interval(det),  # type: ignore[arg-type]
            "robust": _interval(rob),  # type: ignore[arg-type]
            "robust_minus_deterministic": _paired(det, rob),
        }
    result["load_average"] = {"before": load_before, "after": os.getloadavg()}
    return result


def _fmt(cell: dict[str, float | None]) -> str:
    if cell["mean"] is None:
        return "–"
    return f"{cell['mean']:.2f} [{cell['low']:.2f}, {cell['high']:.2f}]"


def _label(r: dict[str, Any]) -> str:
    method = r.get("method", "reserve")
    return "soft" if method == "soft" else f"reserve q{r.get('quantile', 0.8)}"


def markdown(results: list[dict[str, Any]]) -> str:
    """The RESULTS.md table: one row per site and measure."""
    lines = [
        "| site | plan weight det → robust (given up) | measure | deterministic | robust | "
        "robust − det (paired) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        det, rob = r["objective"]["deterministic"], r["objective"]["robust"]
        share = r["nominal_weight_given_up_share"] or 0.0
        head = (
            f"{r['size']} {r['scenario']} s{r['seed']} {_label(r)} ({r['runs']} runs)",
            f"{det['scheduled_weight']:g} → {rob['scheduled_weight']:g} ({100 * share:.1f} %)",
        )
        for index, (measure, cells) in enumerate(r["measures"].items()):
            first = head if index == 0 else ("", "")
            lines.append(
                f"| {first[0]} | {first[1]} | {measure} | {_fmt(cells['deterministic'])} | "
                f"{_fmt(cells['robust'])} | {_fmt(cells['robust_minus_deterministic'])} |"
            )
    return "\n".join(lines)


def main() -> None:
    """Run the comparison and write the JSON (and print the markdown table)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", nargs="+", default=["m", "l"])
    parser.add_argument("--scenarios", nargs="+", default=["normal", "overload"])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--quantile", type=float, default=0.8, help="RobustConfig.quantile")
    parser.add_argument("--method", choices=["soft", "reserve"], default="soft")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "robust.json")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    results = []
    for size in args.sizes:
        for scenario in args.scenarios:
            result = bench_one(
                size,
                scenario,
                args.seed,
                args.runs,
                args.time_limit,
                args.processes,
                args.quantile,
                args.method,
            )
            results.append(result)
            print(
                f"{size} {scenario}: nominal given up {result['nominal_weight_given_up']:g}, "
                f"valid {result['valid']}, simulate s {result['simulate_seconds']}, "
                f"load {result['load_average']}",
                file=sys.stderr,
                flush=True,
            )
            args.json.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    if args.markdown:
        print(markdown(results))


if __name__ == "__main__":
    main()
