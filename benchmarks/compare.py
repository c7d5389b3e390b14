"""CP-SAT vs a MILP (HiGHS) vs the coordinator's greedy plan, side by side on the same instances.

One file on purpose (over 500 lines): the parent that runs the matrix and the child that solves
one instance are one script, so that `python benchmarks/compare.py` is all there is to run.

For every (size, seed, scenario) each method runs in a fresh child process (so `ru_maxrss` is
its own peak memory) with the same time limit and 2 workers/threads; the child generates the
instance, solves it, validates the schedule with `validator.validate` and prints one JSON line.
The parent writes the raw figures to benchmarks/compare.json, the scaling plot to
benchmarks/compare_scaling.png and the `compare` section of benchmarks/RESULTS.md.

    python benchmarks/compare.py                     # the full matrix: xs..xl, seeds 1-5, 5 scenarios
    python benchmarks/compare.py --sizes xs s m --seeds 1 2 --time-limit 60
    python benchmarks/compare.py --render benchmarks/compare.json   # only re-render
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import mean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.run import code_version, machine  # noqa: E402
from benchmarks.sections import write_section  # noqa: E402

SIZES = ("xs", "s", "m", "l", "xl")
SCENARIOS = ("normal", "overload", "waitlist", "holidays", "scarce-skill")
METHODS = ("cp-sat", "milp", "greedy")
MEASURES = ("scheduled_weight", "plan_changes", "wait_days")
SECTION_START, SECTION_END = "<!-- section:compare -->", "<!-- /section:compare -->"
PLOT = ROOT / "benchmarks" / "compare_scaling.png"
NOTES = (
    ROOT / "benchmarks" / "compare_notes.md"
)  # the hand-written reading of the figures, kept in the section


# ----- the child: one method on one instance -------------------------------------------------


def run_method(
    method: str, size: str, seed: int, scenario: str, limit: float, workers: int
) -> dict[str, Any]:
    """Generate, solve with one method, validate; the figures as a JSON-ready dict."""
    from benchmarks.greedy_baseline import greedy_schedule
    from benchmarks.milp import solve_milp
    from generator import generate_instance
    from models import load_instance
    from scheduler.search.outcome import SolveOptions
    from scheduler.workflows.solve import solve
    from validator import validate

    instance = load_instance(generate_instance(size, seed, scenario))
    record: dict[str, Any] = {"method": method, "patients": len(instance.patients)}
    started = time.monotonic()
    if method == "cp-sat":
        schedule = solve(instance, SolveOptions(time_limit=limit, workers=workers))
    elif method == "milp":
        result = solve_milp(instance, time_limit=limit, threads=workers)
        schedule = result.schedule
        if result.run is not None:
            record |= {
                "columns": result.run.columns,
                "rows": result.run.rows,
                "share_columns": result.run.integers_in_exact_shifts,
                "build_seconds": round(result.build_seconds, 3),
            }
    else:
        schedule = greedy_schedule(instance)
    wall = time.monotonic() - started
    extra = schedule.model_extra or {}
    levels = extra.get("levels", [])
    record |= {
        "status": schedule.status,
        "wall_seconds": round(wall, 3),
        "objective": schedule.objective.model_dump() if schedule.objective else None,
        "bound": schedule.bound.model_dump() if schedule.bound else None,
        "levels": levels,
        "first_schedule_seconds": round(wall, 3)
        if method == "greedy"
        else extra.get("first_schedule_seconds"),
        # The first solution the optimiser itself found (CP-SAT starts from the greedy plan).
        "first_solver_solution_seconds": levels[0].get("first_solution_seconds")
        if levels
        else None,
        "proof_seconds": round(wall, 3)
        if schedule.status == "OPTIMAL" and method != "greedy"
        else None,
        "violations": len(validate(instance, schedule)),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    return record


def child(argv: list[str]) -> int:
    """`--worker METHOD SIZE SEED SCENARIO LIMIT WORKERS`: print one JSON line."""
    method, size, seed, scenario, limit, workers = argv
    print(
        json.dumps(run_method(method, size, int(seed), scenario, float(limit), int(workers))),
        flush=True,
    )
    return 0


# ----- the parent: the matrix -----------------------------------------------------------------


def run_child(
    method: str, size: str, seed: int, scenario: str, limit: float, workers: int
) -> dict[str, Any]:
    """One method on one instance in a fresh process."""
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        size,
        str(seed),
        scenario,
        str(limit),
        str(workers),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    base = {
        "method": method,
        "size": size,
        "seed": seed,
        "scenario": scenario,
        "time_limit": limit,
        "load_before": round(os.getloadavg()[0], 2),
    }
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=limit * 3 + 300,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return base | {"status": "TIMEOUT", "levels": []}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return base | {"status": "CRASH", "error": " | ".join(tail), "levels": []}
    return base | json.loads(lines[-1]) | {"load_after": round(os.getloadavg()[0], 2)}


def run_matrix(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every method on every instance of the matrix, one instance at a time."""
    records = []
    for size in args.sizes:
        for seed in args.seeds:
            for scenario in args.scenarios:
                for method in args.methods:
                    record = run_child(method, size, seed, scenario, args.time_limit, args.workers)
                    records.append(record)
                    print(
                        f"{size} s{seed} {scenario:12} {method:6} {record['status']:9} "
                        f"{record.get('objective')} {record.get('wall_seconds')} s",
                        flush=True,
                    )
    return records


# ----- analysis ------------------------------------------------------------------------------


def key(objective: dict[str, float]) -> tuple[float, ...]:
    """Lexicographic key, larger is better (default objective order)."""
    return (objective["scheduled_weight"], -objective["plan_changes"], -objective["wait_days"])


def by_instance(
    records: list[dict[str, Any]],
) -> dict[tuple[str, int, str], dict[str, dict[str, Any]]]:
    """Records grouped per instance, then per method."""
    grouped: dict[tuple[str, int, str], dict[str, dict[str, Any]]] = {}
    for record in records:
        grouped.setdefault((record["size"], record["seed"], record["scenario"]), {})[
            record["method"]
        ] = record
    return dict(
        sorted(
            grouped.items(),
            key=lambda item: (
                SIZES.index(item[0][0]),
                item[0][1],
                SCENARIOS.index(item[0][2]) if item[0][2] in SCENARIOS else 99,
            ),
        )
    )


def gap(record: dict[str, Any]) -> tuple[str, float] | None:
    """The first unproven level and its relative gap |value - bound| / max(1, |value|)."""
    for level in record.get("levels") or []:
        if not level["proven"]:
            return level["measure"], abs(level["value"] - level["bound"]) / max(
                1.0, abs(level["value"])
            )
    return None


def has_plan(record: dict[str, Any] | None) -> bool:
    """Whether the method returned a schedule with values."""
    return (
        record is not None
        and record.get("status") in ("OPTIMAL", "FEASIBLE")
        and record.get("objective") is not None
    )


def wait_per_weight(objective: dict[str, float]) -> float:
    """Wait days per unit of scheduled weight (comparable when plans treat different patients)."""
    return (
        objective["wait_days"] / objective["scheduled_weight"]
        if objective["scheduled_weight"]
        else 0.0
    )


def geometric_mean(values: list[float]) -> float:
    """The geometric mean (ratios of times)."""
    return math.exp(mean(math.log(v) for v in values))


def analyse(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The target checks and the per-scenario greedy shortfall."""
    instances = by_instance(records)
    never_worse, strictly, compared = [], 0, 0
    shortfall: dict[str, list[dict[str, float]]] = {}
    ratios: dict[
        str, list[tuple[float, bool]]
    ] = {}  # size -> (milp/cp-sat time, exact or lower bound)
    ahead: dict[str, list[bool]] = {}
    for (size, _, scenario), methods in instances.items():
        cp, milp, greedy = methods.get("cp-sat"), methods.get("milp"), methods.get("greedy")
        if has_plan(cp) and has_plan(greedy):
            assert cp is not None and greedy is not None
            compared += 1
            a, b = key(cp["objective"]), key(greedy["objective"])
            never_worse.append(a >= b)
            strictly += a > b
            if cp["status"] == "OPTIMAL":
                opt, got = cp["objective"], greedy["objective"]
                shortfall.setdefault(scenario, []).append(
                    {
                        "weight": opt["scheduled_weight"] - got["scheduled_weight"],
                        "weight_pct": 100
                        * (opt["scheduled_weight"] - got["scheduled_weight"])
                        / max(1.0, opt["scheduled_weight"]),
                        "changes": got["plan_changes"] - opt["plan_changes"],
                        "wait": got["wait_days"] - opt["wait_days"],
                        "wait_per_weight": wait_per_weight(got) - wait_per_weight(opt),
                    }
                )
        if cp is not None and milp is not None and cp.get("proof_seconds"):
            if milp.get("proof_seconds"):
                ratios.setdefault(size, []).append(
                    (milp["proof_seconds"] / cp["proof_seconds"], True)
                )
                ahead.setdefault(size, []).append(cp["proof_seconds"] < milp["proof_seconds"])
            elif has_plan(milp) or milp.get("status") == "UNKNOWN":
                ratios.setdefault(size, []).append(
                    (milp["time_limit"] / cp["proof_seconds"], False)
                )
    return {
        "instances": instances,
        "never_worse": never_worse,
        "strictly": strictly,
        "compared": compared,
        "shortfall": shortfall,
        "ratios": ratios,
        "ahead": ahead,
    }


# ----- rendering -----------------------------------------------------------------------------


def fmt(value: Any, digits: int = 1) -> str:
    """A table cell."""
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def objective_cell(record: dict[str, Any] | None) -> str:
    """`weight / changes / wait` or the status when there is no plan."""
    if not has_plan(record):
        return "–" if record is None else record.get("status", "–")
    assert record is not None
    o = record["objective"]
    return f"{fmt(o['scheduled_weight'])} / {fmt(o['plan_changes'])} / {fmt(o['wait_days'])}"


def proof_cell(record: dict[str, Any] | None) -> str:
    """Time to proof, or the gap at the limit."""
    if record is None or record.get("method") == "greedy":
        return "–"
    if record.get("proof_seconds") is not None:
        return f"{record['proof_seconds']:.2f} s"
    found = gap(record)
    if found is None:
        return record.get("status", "–")
    measure, relative = found
    return f"not proven: {measure} gap {100 * relative:.2f} %"


def instance_table(instances: dict[tuple[str, int, str], dict[str, dict[str, Any]]]) -> list[str]:
    """One row per instance and method."""
    lines = [
        "| size | seed | scenario | patients | method | status | weight / changes / wait | first schedule s | time to proof (or gap at limit) | MILP/CP-SAT proof time | peak RSS MB | violations | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (size, seed, scenario), methods in instances.items():
        cp = methods.get("cp-sat")
        for method in METHODS:
            r = methods.get(method)
            if r is None:
                continue
            ratio = "–"
            if method == "milp" and cp and cp.get("proof_seconds"):
                if r.get("proof_seconds"):
                    ratio = f"{r['proof_seconds'] / cp['proof_seconds']:.1f}x"
                else:
                    ratio = f">= {r['time_limit'] / cp['proof_seconds']:.1f}x"
            first = r.get("first_schedule_seconds")
            if method == "cp-sat" and r.get("first_solver_solution_seconds") is not None:
                first_cell = (
                    f"{fmt(first, 2)} (solver {fmt(r['first_solver_solution_seconds'], 2)})"
                )
            else:
                first_cell = fmt(first, 2)
            lines.append(
                f"| {size} | {seed} | {scenario} | {fmt(r.get('patients'))} | {method} | {r.get('status')} | {objective_cell(r)} "
                f"| {first_cell} | {proof_cell(r)} | {ratio} | {fmt(r.get('peak_rss_mb'), 0)} | {fmt(r.get('violations'))} "
                f"| {fmt(r.get('load_before'), 2)} |"
            )
    return lines


def size_summary(analysis: dict[str, Any]) -> list[str]:
    """Per size: how often each method proved, median times, the time ratio."""
    lines = [
        "| size | instances | CP-SAT proven | MILP proven | CP-SAT median proof s | MILP median proof s | MILP/CP-SAT proof time (geo. mean) | CP-SAT ahead where both proved | MILP columns / rows (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in SIZES:
        rows = [m for (s, _, _), m in analysis["instances"].items() if s == size]
        if not rows:
            continue
        cp = [
            m["cp-sat"]["proof_seconds"] for m in rows if m.get("cp-sat", {}).get("proof_seconds")
        ]
        mi = [m["milp"]["proof_seconds"] for m in rows if m.get("milp", {}).get("proof_seconds")]
        ratios = analysis["ratios"].get(size, [])
        ratio = "–"
        if ratios:
            value = geometric_mean([r for r, _ in ratios])
            ratio = f"{'>= ' if not all(exact for _, exact in ratios) else ''}{value:.1f}x"
        ahead = analysis["ahead"].get(size, [])
        cols = sorted(m["milp"].get("columns", 0) for m in rows if m.get("milp", {}).get("columns"))
        rws = sorted(m["milp"].get("rows", 0) for m in rows if m.get("milp", {}).get("rows"))
        model = f"{cols[len(cols) // 2]} / {rws[len(rws) // 2]}" if cols else "–"
        lines.append(
            f"| {size} | {len(rows)} | {len(cp)} | {len(mi)} | {fmt(median(cp), 2)} | {fmt(median(mi), 2)} | {ratio} "
            f"| {sum(ahead)}/{len(ahead)} | {model} |"
        )
    return lines


def median(values: list[float]) -> float | None:
    """The median, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def shortfall_table(analysis: dict[str, Any]) -> list[str]:
    """Per scenario, how far the greedy plan falls short of the proven optimum on each level."""
    lines = [
        "| scenario | instances (CP-SAT proven) | weight short (mean, max) | weight short % (mean) | extra plan changes (mean, max) | wait days: total difference (mean) | wait days per scheduled weight: difference (mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario in SCENARIOS:
        rows = analysis["shortfall"].get(scenario, [])
        if not rows:
            continue
        lines.append(
            f"| {scenario} | {len(rows)} | {mean(r['weight'] for r in rows):.2f}, {max(r['weight'] for r in rows):g} "
            f"| {mean(r['weight_pct'] for r in rows):.1f} % | {mean(r['changes'] for r in rows):.2f}, {max(r['changes'] for r in rows):g} "
            f"| {mean(r['wait'] for r in rows):+.1f} | {mean(r['wait_per_weight'] for r in rows):+.2f} |"
        )
    return lines


def targets(analysis: dict[str, Any]) -> list[str]:
    """Each target of the method comparison, MET or MISSED, with its figure."""
    compared, never = analysis["compared"], analysis["never_worse"]
    strictly_share = analysis["strictly"] / compared if compared else 0.0
    m_ratios = analysis["ratios"].get("m", [])
    m_value = geometric_mean([r for r, _ in m_ratios]) if m_ratios else None
    m_met = m_value is not None and m_value >= 10 and all(r >= 1 for r, _ in m_ratios)
    both = {size: ahead for size, ahead in analysis["ahead"].items() if ahead}
    ahead_met = bool(both) and all(all(ahead) for ahead in both.values())
    ahead_text = (
        ", ".join(f"{size}: {sum(a)}/{len(a)}" for size, a in both.items())
        or "no instance where both proved"
    )
    rows = [
        (
            "CP-SAT never worse than greedy (lexicographic)",
            compared > 0 and all(never),
            f"{sum(never)}/{compared} instances not worse",
        ),
        (
            "CP-SAT strictly better than greedy on >= 80 % of instances",
            strictly_share >= 0.8,
            f"{analysis['strictly']}/{compared} = {100 * strictly_share:.0f} %",
        ),
        (
            "CP-SAT >= 10x faster to the proven optimum than the MILP on m",
            m_met,
            "no m instance"
            if m_value is None
            else f"geometric mean {m_value:.1f}x over {len(m_ratios)} m instances (min {min(r for r, _ in m_ratios):.1f}x; "
            f"{sum(1 for _, exact in m_ratios if not exact)} where the MILP did not prove within the limit count as limit / CP-SAT time)",
        ),
        (
            "CP-SAT ahead on every size where both finish",
            ahead_met,
            f"CP-SAT faster to proof where both proved: {ahead_text}",
        ),
    ]
    return [
        "| target | result | figure |",
        "|---|---|---|",
        *[f"| {name} | {'MET' if ok else 'MISSED'} | {figure} |" for name, ok, figure in rows],
    ]


def plot(analysis: dict[str, Any], limit: float, path: Path) -> None:
    """Time to proof and gap at the limit against patients, per method (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    colours = {"cp-sat": "tab:blue", "milp": "tab:red"}
    for method in ("cp-sat", "milp"):
        proven, unproven, gaps = [], [], []
        for methods in analysis["instances"].values():
            r = methods.get(method)
            if r is None or r.get("patients") is None:
                continue
            shift = 0.97 if method == "cp-sat" else 1.03  # keep the two methods' points apart
            if r.get("proof_seconds"):
                proven.append((r["patients"] * shift, r["proof_seconds"]))
                gaps.append((r["patients"] * shift, 0.0))
            else:
                unproven.append((r["patients"] * shift, limit))
                found = gap(r)
                gaps.append((r["patients"] * shift, 100 * found[1] if found else 100.0))
        if proven:
            left.scatter(
                *zip(*proven, strict=True),
                color=colours[method],
                label=f"{method} proven",
                alpha=0.7,
            )
        if unproven:
            left.scatter(
                *zip(*unproven, strict=True),
                color=colours[method],
                marker="x",
                label=f"{method} not proven at the limit",
                alpha=0.9,
            )
        if gaps:
            right.scatter(*zip(*gaps, strict=True), color=colours[method], label=method, alpha=0.7)
    left.set_xscale("log")
    left.set_yscale("log")
    left.axhline(limit, color="grey", linestyle=":", linewidth=1)
    left.set_xlabel("patients")
    left.set_ylabel("time to proven optimum (s, whole solve)")
    left.legend(fontsize=8)
    right.set_xscale("log")
    right.set_xlabel("patients")
    right.set_ylabel("relative gap at the limit, first unproven level (%)")
    right.legend(fontsize=8)
    figure.suptitle(f"CP-SAT vs MILP (HiGHS), 2 workers/threads, {limit:g} s limit")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def render(data: dict[str, Any]) -> str:
    """The `compare` section of RESULTS.md."""
    records = data["records"]
    analysis = analyse(records)
    plot(analysis, data["time_limit"], PLOT)
    found = data["machine"]
    load = ", ".join(f"{value:.2f}" for value in found["load_before"])
    loads = [r["load_before"] for r in records if r.get("load_before") is not None]
    violations = sum(r.get("violations") or 0 for r in records)
    crashed = [r for r in records if r.get("status") in ("CRASH", "TIMEOUT")]
    lines = [
        SECTION_START,
        "## CP-SAT vs MILP vs the coordinator's greedy plan (issue 6)",
        "",
        f"- Date: {data['date']}; code: {data['code']}; wall time of the run: {data['run_minutes']:.0f} min",
        f"- Machine: {found['cpu']}, {found['cores']} cores, {found['ram']} RAM, {found['os']}; Python {found['python']}, "
        f"ortools {found['ortools']}, highspy {data['highspy']}; load average before: {load}; "
        f"1-min load before each child: median {fmt(median(loads), 2)}, max {fmt(max(loads) if loads else None, 2)} "
        "(one child at a time; the 1-minute average still holds the previous child's own 2 workers, so a figure "
        "above 2 would mean other work competed for the 2 cores)",
        f"- Matrix run: sizes {' '.join(data['sizes'])}; seeds {' '.join(map(str, data['seeds']))}; scenarios {' '.join(data['scenarios'])}"
        f"{'; plus ' + data['extra'] if data.get('extra') else ''}; time limit {data['time_limit']:g} s per method and instance; "
        f"{data['workers']} CP-SAT workers / HiGHS threads. {data.get('note', '')}",
        f"- Commands: {'; '.join(f'`{c}`' for c in data['commands'])}",
        f"- Every schedule of every method was checked with `validator.validate`: {violations} violations in all"
        f"{'; failed children: ' + ', '.join(r['method'] + ' ' + r['size'] + ' s' + str(r['seed']) + ' ' + r['scenario'] + ' ' + r['status'] for r in crashed) if crashed else ''}.",
        "",
        "Methods: **cp-sat** is `scheduler.workflows.solve.solve` (lexicographic; starts from the solver's own greedy hint). "
        "**milp** is `benchmarks/milp.py`: a time-indexed MILP over the same candidate starts (`OptionBuilder.patient_options`), "
        "binary start/collection/assay-day columns, integer step counts per shift and, where a shift's largest possible load could "
        "exceed its team, exact integer operator shares per (operator, date, shift, step kind); HiGHS with `mip_rel_gap` 0 and an "
        "absolute gap below 1 (every objective is integral), lexicographic (solve a level, fix it, solve the next, each later level "
        "warm-started from the previous solution), no greedy start. **greedy** is `benchmarks/greedy_baseline.py`: locked patients "
        "first, then by earliest collection date and weight; each takes its earliest feasible start (its communicated date when it "
        "still fits), a free position, the least-loaded qualified operators and the earliest free QC days.",
        "",
        "Time to proof is the wall time of the whole call (preparation, model building, every level, schedule) when every level "
        "is proven. First schedule: CP-SAT has a valid plan as soon as its greedy hint is built (in brackets: its first own "
        "solution); the MILP's is its first HiGHS incumbent; the greedy plan's is its whole run. Peak RSS is the child's "
        "`ru_maxrss` (each child imports the same libraries). Objective cells: scheduled weight / plan changes / wait days.",
        "",
        "### Targets",
        "",
        *targets(analysis),
        "",
        "### Per size",
        "",
        *size_summary(analysis),
        "",
        "![time to proof and gap against patients](compare_scaling.png)",
        "",
        "### How far the greedy plan falls short of the proven optimum, per scenario",
        "",
        "Positive numbers are what the coordinator's plan loses: patients (weight) not treated, extra re-called apheresis "
        "dates, and extra wait. Total wait days are not comparable on their own when greedy treats fewer patients (an "
        "untreated patient adds no wait), so the per-weight difference is given too.",
        "",
        *shortfall_table(analysis),
        "",
        "### Every instance",
        "",
        *instance_table(analysis["instances"]),
        "",
        *([NOTES.read_text().rstrip("\n"), ""] if NOTES.exists() else []),
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Run the matrix (or re-render saved figures) and write the report."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS))
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument(
        "--methods",
        nargs="+",
        default=list(METHODS),
        choices=METHODS,
        help="only these methods (with --append: their records replace the saved ones)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--append",
        type=Path,
        default=None,
        help="add this run's records to a saved JSON (a second, smaller matrix)",
    )
    parser.add_argument("--note", default="", help="a remark for RESULTS.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "compare.json")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument(
        "--render", type=Path, default=None, help="only re-render RESULTS.md from a saved JSON"
    )
    args = parser.parse_args(argv)
    if args.render is not None:
        data = json.loads(args.render.read_text())
    else:
        from importlib.metadata import version

        began = time.monotonic()
        records = run_matrix(args)
        command = "python benchmarks/compare.py " + shlex.join(argv)
        data = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "code": code_version(),
            "machine": machine(),
            "highspy": version("highspy"),
            "sizes": args.sizes,
            "seeds": args.seeds,
            "scenarios": args.scenarios,
            "time_limit": args.time_limit,
            "workers": args.workers,
            "note": args.note,
            "commands": [command],
            "records": records,
            "run_minutes": (time.monotonic() - began) / 60,
        }
        if args.append is not None and args.append.exists():
            old = json.loads(args.append.read_text())
            extra = f"sizes {' '.join(args.sizes)}, seeds {' '.join(map(str, args.seeds))}, scenarios {' '.join(args.scenarios)}"
            old["extra"] = "; ".join(filter(None, [old.get("extra"), extra]))
            old["commands"].append(command)
            redone = {(r["method"], r["size"], r["seed"], r["scenario"]) for r in records}
            old["records"] = [
                r
                for r in old["records"]
                if (r["method"], r["size"], r["seed"], r["scenario"]) not in redone
            ]
            old["records"] += records
            old["run_minutes"] += data["run_minutes"]
            data = old
        args.json.write_text(json.dumps(data, indent=1))
    write_section(args.out, render(data))
    print(f"wrote {args.json}, {PLOT} and the compare section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
