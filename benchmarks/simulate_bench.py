"""How fast `cart-schedule simulate` plays its runs, and what it finds (issue 17 acceptance).

    python benchmarks/simulate_bench.py [--size m] [--scenarios normal overload] [--seed 1]
        [--runs 1000] [--processes 1 2] [--replan-runs 0] [--replan-time-limit 5]
        [--clairvoyant-runs 0] [--json benchmarks/simulate.json] [--out benchmarks/RESULTS.md]
        [--note TEXT] [--add] [--no-repair]

For each generated site (`generate --size SIZE --seed SEED --scenario S`, solved once with
CP-SAT, 2 workers): `simulate` with the repair policy and the do-nothing reference (default
rates, simulation seed = SEED) over local processes, once per `--processes` value. Per
setting: wall seconds, runs per second, the load average before and after (the machine is
shared: compare ratios within one run), that every final plan is valid, that 1 and 2
processes give the same report (without timing), and the key measures with 95 % intervals.
`--replan-runs N` adds the replan policy on the first site (N runs, per process count);
`--clairvoyant-runs K` plays the clairvoyant reference apart on the first K runs (one CP-SAT
solve per run: not part of the policy's speed figure). Raw figures in `--json`; the section
`simulate` of RESULTS.md is replaced (re-read right before writing; other sections are kept).
`--add` keeps the results already in `--json` (e.g. `--no-repair --replan-runs 200` adds the
replan figures to an earlier repair run; each result keeps its own date and commit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.sections import write_section  # noqa: E402
from generator import generate_instance  # noqa: E402
from models import Instance, Schedule, load_instance  # noqa: E402
from scheduler.search.outcome import SolveOptions  # noqa: E402
from scheduler.workflows.simulate import (  # noqa: E402
    SimulationConfig,
    local_mapper,
    simulate,
    strip_timing,
)
from scheduler.workflows.solve import solve  # noqa: E402
from validator import validate  # noqa: E402

KEY_MEASURES = (
    "treated_weight",
    "late_or_untreated",
    "rescued_patients",
    "rescue_delay_days_mean",
    "date_changes",
    "dates_withdrawn",
)


def _load() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def _git() -> dict[str, Any]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return {"commit": commit, "dirty": bool(dirty)}


def _site(size: str, scenario: str, seed: int) -> tuple[Instance, Schedule, dict[str, Any]]:
    """A generated site and its CP-SAT plan (validated)."""
    path = Path(f"/tmp/simulate_bench_{size}_{scenario}_{seed}.json")
    path.write_text(json.dumps(generate_instance(size, seed, scenario)), encoding="utf-8")
    instance = load_instance(path)
    started = time.monotonic()
    schedule = solve(instance, SolveOptions(time_limit=60, workers=2, seed=0))
    facts = {
        "size": size,
        "scenario": scenario,
        "seed": seed,
        "patients": len(instance.patients),
        "in_progress": len(instance.in_progress),
        "days": instance.horizon.days,
        "solve_status": schedule.status,
        "solve_seconds": round(time.monotonic() - started, 2),
        "plan_valid": not validate(instance, schedule),
    }
    return instance, schedule, facts


def _play(
    instance: Instance, schedule: Schedule, config: SimulationConfig, processes: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One simulation: the report and its speed figures."""
    load_before = _load()
    started = time.monotonic()
    report = simulate(instance, schedule, config, mapper=local_mapper(processes))
    seconds = time.monotonic() - started
    runs = report["timing"]["runs"]
    variants = [k for k in runs[0] if k != "run"] if runs else []
    speed = {
        "processes": processes,
        "runs": config.runs,
        "seconds": round(seconds, 2),
        "runs_per_second": round(config.runs / seconds, 3),
        "seconds_per_run_in_worker": {
            v: round(sum(r[v] for r in runs) / len(runs), 4) for v in variants
        },
        "load_before": load_before,
        "load_after": _load(),
        "invalid_plans": len(report["checks"]["invalid_plans"]),
        "plans_validated": report["checks"]["plans_validated"],
    }
    return report, speed


def _measures(report: dict[str, Any]) -> dict[str, Any]:
    summary = report["summary"]
    found: dict[str, Any] = {
        variant: {m: summary[variant][m] for m in KEY_MEASURES} for variant in summary
    }
    found["differences"] = report["differences"]
    found["checks"] = {
        k: v for k, v in report["checks"].items() if k not in ("invalid_plans", "plans_validated")
    }
    return found


def bench_site(
    size: str,
    scenario: str,
    seed: int,
    runs: int,
    processes: list[int],
    policy: str,
    references: tuple[str, ...] = ("do_nothing",),
) -> dict[str, Any]:
    """One site, one policy: the same runs over each process count, reports compared."""
    instance, schedule, facts = _site(size, scenario, seed)
    config = SimulationConfig(runs=runs, seed=seed, policy=policy, references=references)
    result: dict[str, Any] = {
        "site": facts,
        "policy": policy,
        "references": list(references),
        "speed": [],
    }
    reports = []
    for count in processes:
        report, speed = _play(instance, schedule, config, count)
        result["speed"].append(speed)
        reports.append(json.dumps(strip_timing(report), sort_keys=True))
        print(f"{size} {scenario} {policy} P={count}: {speed}", file=sys.stderr, flush=True)
    result["same_report_every_process_count"] = len(set(reports)) == 1
    result["measures"] = _measures(json.loads(reports[-1]))
    return result


def bench_clairvoyant(size: str, scenario: str, seed: int, runs: int) -> dict[str, Any]:
    """The clairvoyant reference on the first runs, apart (one CP-SAT solve per run)."""
    instance, schedule, facts = _site(size, scenario, seed)
    config = SimulationConfig(runs=runs, seed=seed, references=("do_nothing", "clairvoyant"))
    report, speed = _play(instance, schedule, config, 2)
    return {"site": facts, "speed": speed, "measures": _measures(report)}


def _cell(summary: dict[str, Any]) -> str:
    if summary["mean"] is None:
        return "–"
    low, high = summary["ci95"]
    return f"{summary['mean']:.2f} [{low:.2f}, {high:.2f}]"


def render(data: dict[str, Any]) -> str:
    """The `simulate` section of RESULTS.md."""
    lines = [
        "<!-- section:simulate -->",
        "## Simulation speed and figures (issue 17, `benchmarks/simulate_bench.py`)",
        "",
        f"{data['date']}, commit {data['git']['commit']}"
        + (" (uncommitted changes)" if data["git"]["dirty"] else "")
        + f", {data['machine']}, Python {data['python']}. Command: `{data['command']}`.",
        "Raw figures: `benchmarks/simulate.json`. Default rates; simulation seed = site seed.",
        "The machine may be shared with other work: wall times are then pessimistic and noisy;",
        "the load average (1 min) is given before and after each simulation.",
    ]
    if data.get("note"):
        lines += ["", f"Note: {data['note']}"]
    for added in data.get("added", []):
        lines += ["", f"Added {added['date']}, commit {added['commit']}: `{added['command']}`."]
    lines += [
        "",
        "| site | policy | references | runs | processes | wall s | runs/s | s per run in a worker "
        "(policy / do nothing) | load before → after | plans valid | same report 1 vs 2 P "
        "| commit |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in data["results"]:
        site = result["site"]
        for speed in result["speed"]:
            per_run = speed["seconds_per_run_in_worker"]
            lines.append(
                f"| {site['size']} {site['scenario']} s{site['seed']} ({site['patients']} patients)"
                f" | {result['policy']}"
                f" | {', '.join(result.get('references', ['do_nothing'])) or 'none'}"
                f" | {speed['runs']} | {speed['processes']}"
                f" | {speed['seconds']:.1f} | {speed['runs_per_second']:.2f}"
                f" | {per_run.get('policy', 0):.3f} / {per_run.get('do_nothing', 0):.3f}"
                f" | {speed['load_before'][0]} → {speed['load_after'][0]}"
                f" | {speed['plans_validated'] - speed['invalid_plans']}/{speed['plans_validated']}"
                f" | {'yes' if result['same_report_every_process_count'] else 'NO'}"
                f" | {result.get('stamp', {}).get('commit', 'earlier (not recorded)')} |"
            )
    lines += [
        "",
        "Key measures (mean [95 % interval] over runs; paired difference per run):",
        "",
        "| site | policy | measure | policy | do nothing |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in data["results"]:
        site, measures = result["site"], result["measures"]
        if "do_nothing" not in measures:
            continue  # a speed run of the policy alone
        for measure in KEY_MEASURES:
            lines.append(
                f"| {site['size']} {site['scenario']} | {result['policy']} | {measure}"
                f" | {_cell(measures['policy'][measure])}"
                f" | {_cell(measures['do_nothing'][measure])} |"
            )
        paired = measures["differences"].get("policy_minus_do_nothing", {})
        if "treated_weight" in paired:
            lines.append(
                f"| {site['size']} {site['scenario']} | {result['policy']}"
                f" | treated_weight, policy − do nothing | {_cell(paired['treated_weight'])} | |"
            )
    for seer in data.get("clairvoyant", []):
        site, measures, speed = seer["site"], seer["measures"], seer["speed"]
        lines += [
            "",
            f"Clairvoyant reference, apart, on the first {speed['runs']} runs of "
            f"{site['size']} {site['scenario']} ({speed['seconds']:.0f} s wall on 2 processes, "
            f"{speed['seconds_per_run_in_worker'].get('clairvoyant', 0):.2f} s per run in a "
            f"worker): treated weight {_cell(measures['clairvoyant']['treated_weight'])} vs "
            f"policy {_cell(measures['policy']['treated_weight'])}; clairvoyant minus policy "
            f"{_cell(measures['differences']['clairvoyant_minus_policy']['treated_weight'])}.",
        ]
    lines.append("<!-- /section:simulate -->")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run the benchmark, write the JSON and the RESULTS.md section."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="m")
    parser.add_argument("--scenarios", nargs="+", default=["normal", "overload"])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--replan-runs", type=int, default=0)
    parser.add_argument("--clairvoyant-runs", type=int, default=0)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "simulate.json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--note", default="")
    parser.add_argument("--add", action="store_true", help="keep the results in --json")
    parser.add_argument("--no-repair", action="store_true", help="skip the repair runs")
    parser.add_argument(
        "--references",
        nargs="*",
        default=["do_nothing"],
        help="references played beside the repair policy (none: the policy alone)",
    )
    args = parser.parse_args()
    stamp = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _git()["commit"],
        "command": "python benchmarks/simulate_bench.py " + " ".join(sys.argv[1:]),
    }
    data: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "git": _git(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        "command": "python benchmarks/simulate_bench.py " + " ".join(sys.argv[1:]),
        "note": args.note,
        "results": [],
    }
    if args.add and args.json.exists():
        earlier = json.loads(args.json.read_text(encoding="utf-8"))
        data["results"] = earlier["results"]
        data["clairvoyant"] = earlier.get("clairvoyant", [])
        data["added"] = [*earlier.get("added", []), stamp]
    for scenario in [] if args.no_repair else args.scenarios:
        data["results"].append(
            bench_site(
                args.size,
                scenario,
                args.seed,
                args.runs,
                args.processes,
                "repair",
                tuple(r for r in args.references if r != "none"),
            )
            | {"stamp": stamp}
        )
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    if args.replan_runs:
        data["results"].append(
            bench_site(
                args.size, args.scenarios[0], args.seed, args.replan_runs, args.processes, "replan"
            )
            | {"stamp": stamp}
        )
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    if args.clairvoyant_runs:
        data["clairvoyant"] = [
            bench_clairvoyant(args.size, args.scenarios[0], args.seed, args.clairvoyant_runs)
        ]
        args.json.write_text(json.dumps(data, indent=1), encoding="utf-8")
    write_section(args.out, render(data))  # reads the file right before writing it


if __name__ == "__main__":
    main()
