"""Benchmark the scheduler on generated instances and write benchmarks/RESULTS.md.

One file on purpose (over 500 lines): the parent that runs the matrix and the child that solves
one instance are one script, so that `python benchmarks/run.py` is all there is to run.

Every (size, seed, scenario) is solved in a fresh subprocess, so the peak memory reported
is that instance's own. The child generates the instance, solves it, validates the schedule
with the independent validator and prints one JSON line; the parent collects the lines,
writes the raw figures to a JSON file and renders RESULTS.md with the solver targets.

    python benchmarks/run.py                                  # the full matrix
    python benchmarks/run.py --sizes m l --seeds 1 --scenarios normal

See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIZES = ("xs", "s", "m", "l", "xl")
DEFAULT_LIMITS = {"xs": 60.0, "s": 60.0, "m": 60.0, "l": 60.0, "xl": 120.0}
MEASURES = ("scheduled_weight", "plan_changes", "wait_days")

# Issue 2, "Targets (in the benchmark, on this 2-core machine)".
PROOF_TARGETS = {"m": 10.0, "l": 60.0}  # every level proven optimal within this many seconds
XL_FIRST_SCHEDULE = 30.0  # a valid schedule within this many seconds
XL_GAP = 0.01  # at most this relative gap on every level at 120 s
XL_MEMORY_MB = 2048.0  # peak memory


# --------------------------------------------------------------------------------------
# The child: one instance, one solve, one JSON line on stdout.
# --------------------------------------------------------------------------------------


def worker(
    size: str, seed: int, scenario: str, time_limit: float, workers: int, solver_seed: int
) -> dict[str, Any]:
    """Generate, solve and validate one instance; return its figures."""
    sys.path.insert(0, str(ROOT))
    import scheduler.search.lexicographic as search_module
    from generator import generate_instance
    from models import load_instance
    from scheduler.search.outcome import SolveOptions
    from scheduler.workflows.solve import solve
    from validator import validate

    record: dict[str, Any] = {
        "size": size,
        "seed": seed,
        "scenario": scenario,
        "time_limit": time_limit,
        "workers": workers,
        "solver_seed": solver_seed,
    }
    instance = load_instance(generate_instance(size, seed, scenario))
    record["code_path"] = str(Path(search_module.__file__).parents[2])
    record["patients"] = len(instance.patients)
    record["in_progress"] = len(instance.in_progress)
    record["objective_order"] = list(instance.objective_order)

    # Instrument build_model (the search calls it first for the whole model) to read the size of
    # the very model that is solved and the moment the search can start; nothing else is changed.
    real_build_model = search_module.build_model
    marks: dict[str, Any] = {}

    def build_model(problem: Any) -> Any:
        built = real_build_model(problem)
        if "variables" in marks:
            return built  # a neighbourhood's smaller model (the dives), not the one searched
        proto = built[0].model.proto
        marks["variables"] = len(proto.variables)
        marks["constraints"] = len(proto.constraints)
        marks["start_options"] = sum(len(p.starts) for p in problem.patients)
        marks["model_ready"] = time.monotonic() - started
        return built

    search_module.build_model = build_model  # type: ignore[assignment]
    options = SolveOptions(time_limit=time_limit, workers=workers, seed=solver_seed)
    started = time.monotonic()
    schedule = solve(instance, options)
    record["wall_seconds"] = round(time.monotonic() - started, 3)
    record["solve_seconds"] = schedule.solve_seconds
    record["status"] = schedule.status
    record.update({key: marks.get(key) for key in ("variables", "constraints", "start_options")})
    model_ready = marks.get("model_ready")
    record["model_ready_seconds"] = None if model_ready is None else round(model_ready, 3)

    levels: list[dict[str, Any]] = []
    elapsed = model_ready or 0.0
    for level in (schedule.model_extra or {}).get("levels", []):
        elapsed += level["seconds"]
        value, bound = level["value"], level["bound"]
        levels.append(
            {
                **level,
                "done_at": round(elapsed, 3),  # cumulative seconds from the start of solve()
                "gap": relative_gap(value, bound),
            }
        )
    record["levels"] = levels
    record["first_solution_seconds"] = (schedule.model_extra or {}).get("first_schedule_seconds")
    record["first_level_done"] = levels[0]["done_at"] if levels else None
    record["scheduled"] = len(schedule.assignments)
    record["unscheduled"] = len(schedule.unscheduled)

    violations = validate(instance, schedule)
    record["violations"] = len(violations)
    record["violation_samples"] = [f"{v.rule}: {v.message}" for v in violations[:5]]
    record["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return record


def relative_gap(value: float | None, bound: float | None) -> float | None:
    """|value - bound| / max(1, |value|), CP-SAT's definition of the relative gap."""
    if value is None or bound is None:
        return None
    return abs(value - bound) / max(1.0, abs(value))


# --------------------------------------------------------------------------------------
# The parent: run the matrix, one subprocess per instance.
# --------------------------------------------------------------------------------------


def run_one(
    size: str, seed: int, scenario: str, limit: float, workers: int, solver_seed: int, kind: str
) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        size,
        str(seed),
        scenario,
        str(limit),
        str(workers),
        str(solver_seed),
    ]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    began = time.monotonic()
    base = {"size": size, "seed": seed, "scenario": scenario, "time_limit": limit, "kind": kind}
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=limit * 3 + 600,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return base | {"status": "TIMEOUT", "error": "the child did not finish", "levels": []}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        return base | {"status": "CRASH", "error": " | ".join(tail), "levels": []}
    record: dict[str, Any] = json.loads(lines[-1])
    record["kind"] = kind
    record["load_after"] = [round(x, 2) for x in os.getloadavg()]
    record["process_seconds"] = round(time.monotonic() - began, 1)
    return record


def parse_limits(values: list[str]) -> dict[str, float]:
    """`--time-limit 90` (every size) or `--time-limit xl=200 m=30` (some sizes)."""
    limits = dict(DEFAULT_LIMITS)
    for value in values:
        if "=" in value:
            size, seconds = value.split("=", 1)
            if size not in SIZES:
                raise SystemExit(f"--time-limit: unknown size {size!r}")
            limits[size] = float(seconds)
        else:
            limits = dict.fromkeys(SIZES, float(value))
    return limits


# --------------------------------------------------------------------------------------
# RESULTS.md
# --------------------------------------------------------------------------------------


def keep_sections(path: Path, text: str) -> str:
    """Append the marked sections other benchmarks wrote into the old file (e.g. the service's)."""
    if not path.exists():
        return text
    old = path.read_text()
    kept = []
    while "<!-- section:" in old:
        start = old.index("<!-- section:")
        name = old[start + len("<!-- section:") :].split(" ", 1)[0]
        end_marker = f"<!-- /section:{name}"
        end = old.find(end_marker, start)
        if end < 0:
            break
        end = old.index("-->", end) + 3
        kept.append(old[start:end])
        old = old[end:]
    return text.rstrip("\n") + "\n\n" + "\n\n".join(kept) + "\n" if kept else text


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    versions: dict[str, str] = {"python": platform.python_version()}
    for package in ("ortools", "pydantic"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:
            versions[package] = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "os": platform.platform(),
        **versions,
        "load_before": os.getloadavg(),
    }


def code_version() -> str:
    """The commit benchmarked, and whether the work tree differed from it (read-only git calls)."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {head}" + (" with uncommitted changes" if dirty else "")


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def level_cell(level: dict[str, Any] | None) -> str:
    if level is None:
        return "not reached"
    value, bound = fmt(level["value"], 2), fmt(level["bound"], 2)
    if level["proven"]:
        return f"**proven** at {level['done_at']:.2f} s (= {value})"
    gap = level["gap"]
    return (
        f"{value}, bound {bound}, gap {gap * 100:.2f} %"
        if gap is not None
        else f"{value}, bound {bound}"
    )


def size_table(records: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| scenario | seed | patients | vars | cons | start options | first solution s | "
        + " | ".join(MEASURES)
        + " | total s | status | violations | peak RSS MB | load after |",
        "|" + "---|" * (12 + len(MEASURES)),
    ]
    for r in records:
        if r.get("status") in ("CRASH", "TIMEOUT"):
            lines.append(
                f"| {r['scenario']} | {r['seed']} | "
                + " | ".join(["–"] * (5 + len(MEASURES)))
                + f" | – | {r['status']}: {r.get('error', '')} | – | – | – |"
            )
            continue
        by_measure = {level["measure"]: level for level in r["levels"]}
        cells = [level_cell(by_measure.get(m)) for m in MEASURES]
        repairs = sum(level.get("team_repairs", 0) for level in r["levels"])
        status = r["status"] + (f" ({repairs} team repairs)" if repairs else "")
        lines.append(
            f"| {r['scenario']} | {r['seed']} | {r['patients']} | {fmt(r['variables'])} | {fmt(r['constraints'])} "
            f"| {fmt(r['start_options'])} | {fmt(r['first_solution_seconds'], 2)} | "
            + " | ".join(cells)
            + f" | {fmt(r['solve_seconds'])} | {status} | {violations_cell(r)} | {fmt(r['peak_rss_mb'], 0)} "
            f"| {fmt((r.get('load_after') or [None])[0], 2)} |"
        )
    return lines


def has_schedule(record: dict[str, Any]) -> bool:
    """Whether the run returned a schedule (OPTIMAL or FEASIBLE); UNKNOWN/INFEASIBLE have none to validate."""
    return record.get("status") in ("OPTIMAL", "FEASIBLE")


def violations_cell(record: dict[str, Any]) -> str:
    if not has_schedule(record):
        return "no schedule"
    return str(record["violations"])


def all_proven_at(record: dict[str, Any]) -> float | None:
    """Seconds until every level was proven, or None when one was not."""
    order = record.get("objective_order") or list(MEASURES)
    by_measure = {level["measure"]: level for level in record.get("levels", [])}
    if any(m not in by_measure or not by_measure[m]["proven"] for m in order):
        return None
    return max(by_measure[m]["done_at"] for m in order)


def label(r: dict[str, Any]) -> str:
    return f"{r['size']} {r['scenario']} seed {r['seed']}"


def targets(main: list[dict[str, Any]], checks: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []

    def verdict(name: str, runs: list[dict[str, Any]], ok: list[bool], figures: list[str]) -> None:
        if not runs:
            out.append(f"- **{name}: NOT RUN** (no such instance in this matrix)")
            return
        result = "MET" if all(ok) else "MISSED"
        out.append(f"- **{name}: {result}** ({sum(ok)}/{len(ok)} runs)")
        out.extend(f"  - {figure}" for figure in figures)

    for size, limit in PROOF_TARGETS.items():
        runs = [r for r in main if r["size"] == size]
        ok, figures = [], []
        for r in runs:
            at = all_proven_at(r)
            ok.append(at is not None and at <= limit and r.get("violations") == 0)
            if at is not None:
                figures.append(f"{label(r)}: all levels proven at {at:.1f} s")
            else:
                unproven = [lv["measure"] for lv in r.get("levels", []) if not lv["proven"]]
                missing = [
                    m
                    for m in r.get("objective_order", MEASURES)
                    if m not in {lv["measure"] for lv in r.get("levels", [])}
                ]
                figures.append(
                    f"{label(r)}: not all proven within the {fmt(r['time_limit'], 0)} s limit "
                    f"(unproven: {', '.join(unproven) or '–'}; not reached: {', '.join(missing) or '–'}; "
                    f"status {r['status']})"
                )
        verdict(f"{size}: proven optimal on every level in <= {limit:.0f} s", runs, ok, figures)

    xl = [r for r in main if r["size"] == "xl"]
    xl_checks = [r for r in checks if r["size"] == "xl"]
    ok, figures = [], []
    if xl_checks:
        for r in xl_checks:
            valid = r.get("status") in ("OPTIMAL", "FEASIBLE") and r.get("violations") == 0
            within = (
                r.get("solve_seconds") is not None and r["solve_seconds"] <= XL_FIRST_SCHEDULE + 0.5
            )
            ok.append(valid and within)
            figures.append(
                f"{label(r)}: solved with --time-limit {fmt(r['time_limit'], 0)}: status {r['status']}, "
                f"violations: {violations_cell(r)}, returned after {fmt(r.get('solve_seconds'))} s "
                f"(first valid schedule at {fmt(r.get('first_solution_seconds'), 1)} s)"
            )
        verdict(f"xl: a valid schedule in <= {XL_FIRST_SCHEDULE:.0f} s", xl_checks, ok, figures)
    else:
        for r in xl:
            first = r.get("first_solution_seconds")
            ok.append(first is not None and first <= XL_FIRST_SCHEDULE and r.get("violations") == 0)
            figures.append(
                f"{label(r)}: first solution at {fmt(first, 1)} s, final schedule "
                f"{r.get('violations')} violations"
            )
        verdict(
            f"xl: a valid schedule in <= {XL_FIRST_SCHEDULE:.0f} s (first solution of the 120 s run)",
            xl,
            ok,
            figures,
        )

    ok, figures = [], []
    for r in xl:
        by_measure = {level["measure"]: level for level in r.get("levels", [])}
        gaps = {
            m: by_measure[m]["gap"] if m in by_measure else None
            for m in r.get("objective_order", MEASURES)
        }
        ok.append(
            all(g is not None and g <= XL_GAP for g in gaps.values()) and r.get("violations") == 0
        )
        shown = ", ".join(
            f"{m} {'not reached' if g is None else f'{g * 100:.2f} %'}" for m, g in gaps.items()
        )
        figures.append(
            f"{label(r)} with a {fmt(r['time_limit'], 0)} s limit (returned {r['status']} after "
            f"{fmt(r.get('solve_seconds'))} s): {shown}"
        )
    verdict(f"xl: <= {XL_GAP * 100:.0f} % gap on every level at 120 s", xl, ok, figures)

    runs = xl + xl_checks
    ok = [r.get("peak_rss_mb") is not None and r["peak_rss_mb"] <= XL_MEMORY_MB for r in runs]
    figures = [
        f"{label(r)}{' (30 s check)' if r.get('kind') == 'check' else ''}: {fmt(r.get('peak_rss_mb'), 0)} MB"
        for r in runs
    ]
    verdict(f"xl: peak memory <= {XL_MEMORY_MB / 1024:.0f} GB", runs, ok, figures)

    runs = main + checks
    without = [r for r in runs if not has_schedule(r)]
    bad = [r for r in runs if has_schedule(r) and r.get("violations") != 0]
    if bad:
        out.append(
            "- **Validator: MISSED** — schedules with violations: "
            + "; ".join(f"{label(r)}: {r['violations']}" for r in bad)
        )
    else:
        out.append(
            f"- **Validator: MET** — all {len(runs) - len(without)} schedules returned have 0 violations"
        )
    if without:
        out.append(
            f"- **Every instance yields a schedule: MISSED** — {len(without)} run(s) returned no schedule: "
            + "; ".join(
                f"{label(r)}{' (check)' if r.get('kind') == 'check' else ''}: {r.get('status')} "
                f"after {fmt(r.get('solve_seconds'))} s of a {fmt(r.get('time_limit'), 0)} s limit"
                for r in without
            )
        )
    early = [
        r
        for r in runs
        if r.get("solve_seconds") is not None
        and all_proven_at(r) is None
        # The search keeps back 3 % of the limit plus about 5 ms per batch for teams, positions
        # and the schedule (12 % of 30 s on xl overload): only a return before that is early.
        and r["solve_seconds"] < 0.8 * r["time_limit"]
    ]
    if early:
        out.append(
            "- **Observation**: run(s) that returned well before their time limit without proving every "
            "level: a level's solve ended without any solution within its share of the time (half of what was "
            "left, all of it for the last level), the search stopped there and the rest of the limit went unused: "
            + "; ".join(
                f"{label(r)}{' (check)' if r.get('kind') == 'check' else ''}: {r['status']} after "
                f"{fmt(r['solve_seconds'])} s of {fmt(r['time_limit'], 0)} s, "
                f"{len(r.get('levels', []))} of {len(r.get('objective_order', MEASURES))} levels done"
                for r in early
            )
        )
    return out


def render(data: dict[str, Any]) -> str:
    info, args = data["machine"], data["args"]
    main = [r for r in data["runs"] if r.get("kind") != "check"]
    checks = [r for r in data["runs"] if r.get("kind") == "check"]
    full = (
        sorted(args["sizes"]) == sorted(SIZES)
        and sorted(args["seeds"]) == [1, 2, 3]
        and sorted(args["scenarios"]) == ["normal", "overload", "waitlist"]
    )
    lines = ["# Benchmark results", ""]
    if not full:
        lines += [
            f"> **Reduced matrix**: sizes {' '.join(args['sizes'])}, seeds {' '.join(map(str, args['seeds']))}, "
            f"scenarios {' '.join(args['scenarios'])} (the full matrix is sizes xs–xl, seeds 1–3, "
            "normal, overload and waitlist).",
            "",
        ]
    if data.get("note"):
        lines += [f"> **Note**: {data['note']}", ""]
    load = info.get("load_before")
    lines += [
        "## Machine and versions",
        "",
        f"- CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram']}; {info['os']}",
        f"- Code: {data.get('code', 'unknown')}",
        f"- Python {info['python']}, OR-Tools {info['ortools']}, pydantic {info['pydantic']}",
        f"- Date: {data['date']}; load average before the run: "
        + (", ".join(f"{x:.2f}" for x in load) if load else "–")
        + f"; whole run took {data['elapsed_seconds'] / 60:.1f} min",
        f"- Solver: {args['workers']} workers, random seed {args['solver_seed']}; time limit per size: "
        + ", ".join(f"{s} {args['limits'][s]:.0f} s" for s in args["sizes"]),
        "",
        "Reproduce (from the repository root, after `pip install -e .`):",
        "",
        "```sh",
        data["command"],
        "```",
        "",
        "## Targets (issue 2)",
        "",
        *targets(main, checks),
        "",
        "## How to read the tables",
        "",
        "- **vars / cons**: variables and constraints of the CP-SAT model as built (before any exact "
        "team constraints added by a repair); **start options**: precomputed (apheresis date, start "
        "shift) options summed over the patients.",
        "- **first solution s**: seconds from the call of `solve()` (including instance preparation and "
        "model building) to the first valid schedule in hand (the first-come-first-served plan the search "
        "starts from, or the first CP-SAT solution that passed the exact team check).",
        "- **per level**: `proven at T s` is the cumulative time from the call of `solve()` until that level "
        "was proven optimal; otherwise the value reached, its bound and the relative gap "
        "|value − bound| / max(1, |value|). `not reached`: the time ran out before the level started.",
        "- **total s**: `solve_seconds` of the schedule; **violations**: the independent validator's count "
        "(must be 0); **peak RSS**: `ru_maxrss` of the fresh process that generated, solved and validated "
        "the instance; **load after**: the machine's 1-minute load average when the run ended (2 cores: "
        "above 2 means other work competed for the CPU).",
        "",
    ]
    for size in args["sizes"]:
        records = [r for r in main if r["size"] == size]
        if not records:
            continue
        lines += [
            f"## {size} (time limit {args['limits'][size]:.0f} s)",
            "",
            *size_table(records),
            "",
        ]
    if checks:
        lines += [
            "## Short-limit checks (a valid schedule within the xl target time)",
            "",
            *size_table(checks),
            "",
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        size, seed, scenario, limit, workers, solver_seed = argv[1:7]
        record = worker(size, int(seed), scenario, float(limit), int(workers), int(solver_seed))
        print(json.dumps(record), flush=True)
        return 0

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=SIZES)
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--scenarios", nargs="+", default=["normal", "overload", "waitlist"])
    parser.add_argument(
        "--time-limit",
        nargs="+",
        default=[],
        metavar="SECONDS|SIZE=SECONDS",
        help="per-size solve time limit (default xs/s/m/l 60, xl 120)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--solver-seed", type=int, default=0, help="CP-SAT random seed (default 0)")
    parser.add_argument(
        "--xl-check",
        type=float,
        default=XL_FIRST_SCHEDULE,
        metavar="SECONDS",
        help="also solve each xl instance with this time limit and validate it, to test "
        "'a valid schedule in <= 30 s' directly (0 to skip)",
    )
    parser.add_argument("--note", default="", help="a remark to print at the top of RESULTS.md")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="raw figures (default: RESULTS.md's name with .json)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        metavar="JSON",
        help="only re-render RESULTS.md from a saved JSON file",
    )
    args = parser.parse_args(argv)
    json_path = args.json or args.out.with_suffix(".json")

    if args.render is not None:
        data = json.loads(args.render.read_text())
        if args.note:
            data["note"] = args.note
        args.out.write_text(keep_sections(args.out, render(data)))
        print(f"wrote {args.out}")
        return 0

    limits = parse_limits(args.time_limit)
    command = "python benchmarks/run.py " + " ".join(shlex.quote(a) for a in argv)
    data: dict[str, Any] = {
        "machine": machine(),
        "code": code_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": command.strip(),
        "note": args.note,
        "args": {
            "sizes": args.sizes,
            "seeds": args.seeds,
            "scenarios": args.scenarios,
            "limits": limits,
            "workers": args.workers,
            "solver_seed": args.solver_seed,
            "xl_check": args.xl_check,
        },
        "runs": [],
    }
    began = time.monotonic()
    plan = [
        (size, seed, scenario, limits[size], "main")
        for size in args.sizes
        for seed in args.seeds
        for scenario in args.scenarios
    ]
    if args.xl_check > 0 and "xl" in args.sizes:
        plan += [
            ("xl", seed, scenario, args.xl_check, "check")
            for seed in args.seeds
            for scenario in args.scenarios
        ]
    for number, (size, seed, scenario, limit, kind) in enumerate(plan, 1):
        print(
            f"[{number}/{len(plan)}] {size} seed {seed} {scenario} (limit {limit:.0f} s{', check' if kind == 'check' else ''}) ...",
            end=" ",
            flush=True,
        )
        record = run_one(size, seed, scenario, limit, args.workers, args.solver_seed, kind)
        data["runs"].append(record)
        proven = sum(1 for level in record.get("levels", []) if level["proven"])
        print(
            f"{record['status']} in {fmt(record.get('solve_seconds'))} s, {proven} levels proven, "
            f"{record.get('violations', '?')} violations, {fmt(record.get('peak_rss_mb'), 0)} MB",
            flush=True,
        )
        data["elapsed_seconds"] = time.monotonic() - began
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(data, indent=1))  # keep what is done if interrupted
    data["elapsed_seconds"] = time.monotonic() - began
    json_path.write_text(json.dumps(data, indent=1))
    args.out.write_text(keep_sections(args.out, render(data)))
    print(f"wrote {args.out} and {json_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
