"""The `cart-schedule` command line: a thin shell over models, the solver, the validator and
the instance generator. It reads files, calls one function, prints and picks the exit code;
every rule of the domain lives elsewhere.

Exit codes (the contract other tools and tests rely on):

- 0: done (a schedule written with status OPTIMAL or FEASIBLE; a valid schedule; a file written)
- 1: `validate` found violations (or the generator produced an instance that fails its checks)
- 2: bad input: a file that cannot be read or breaks its format, listed problem by problem
- 3: `solve` ended INFEASIBLE or UNKNOWN (the schedule file is still written)
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from models import (
    InputError,
    Instance,
    Schedule,
    load_instance,
    load_schedule,
    to_json,
    write_json,
)

if TYPE_CHECKING:
    from scheduler.search.outcome import Progress

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SCHEDULE = 3

SIZE_NAMES = "xs, s, m, l, xl"
UNSCHEDULED_SHOWN = 20

app = typer.Typer(
    name="cart-schedule",
    help="Plan CAR-T manufacturing slots: solve, validate and generate SPEC v1 instances.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


class SchemaKind(StrEnum):
    """The two exchange formats."""

    instance = "instance"
    schedule = "schedule"


def _out() -> Console:
    # Built per call so that a captured or redirected sys.stdout is honoured. Plain lines are
    # never wrapped (one violation or problem per line, whatever the width), no highlighting or
    # emoji codes, and markup stays off wherever user text (ids, JSON paths with [n]) is printed.
    return Console(highlight=False, soft_wrap=True, emoji=False)


def _err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _fail_input(error: InputError, what: str) -> NoReturn:
    """Print every problem of a bad input file and exit 2."""
    err = _err()
    source = error.source or what
    count = len(error.problems)
    err.print(f"error: {source}: {count} problem{'s' if count != 1 else ''}", markup=False)
    for problem in error.problems:
        err.print(f"  {problem}", markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def _fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    _err().print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def _check_writable(path: Path) -> None:
    """Refuse an output path whose folder does not exist, before spending time on a solve."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        _fail(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        _fail(f"cannot write {path}: it is a folder")


class _ProgressDisplay:
    """Shows solver progress: one live line on a terminal, throttled plain lines otherwise."""

    def __init__(self, console: Console, every_seconds: float = 2.0) -> None:
        self.console = console
        self.every_seconds = every_seconds
        self.live: Live | None = None
        self.lock = threading.Lock()
        self.last_level: str | None = None
        self.last_print = 0.0

    def __enter__(self) -> _ProgressDisplay:
        if self.console.is_terminal:
            self.live = Live(
                Text("solving ..."), console=self.console, refresh_per_second=4, transient=True
            )
            self.live.__enter__()
        else:
            self.console.print("solving ...")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    @staticmethod
    def line(progress: Progress) -> str:
        return (
            f"{progress.level}: best {_number(progress.objective)}, "
            f"bound {_number(progress.bound)}, {progress.elapsed:.1f} s"
        )

    def __call__(self, progress: Progress) -> None:
        with self.lock:
            if self.live is not None:
                self.live.update(Text(self.line(progress)))
                return
            now = time.monotonic()
            if progress.level != self.last_level or now - self.last_print >= self.every_seconds:
                self.console.print(self.line(progress), markup=False)
                self.last_level = progress.level
                self.last_print = now


def _summary(instance: Instance, schedule: Schedule, output: Path) -> Table:
    new = sum(1 for a in schedule.assignments if not a.in_progress)
    in_progress = len(schedule.assignments) - new
    table = Table(title=f"{schedule.instance}: {schedule.status}", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_column("bound", justify="right")
    table.add_row("status", schedule.status, "")
    table.add_row("scheduled patients", f"{new} of {len(instance.patients)}", "")
    table.add_row("unscheduled patients", str(len(schedule.unscheduled)), "")
    table.add_row("in-progress batches", str(in_progress), "")
    for measure in instance.objective_order:
        value = getattr(schedule.objective, measure) if schedule.objective else None
        bound = getattr(schedule.bound, measure) if schedule.bound else None
        table.add_row(measure, _number(value), _number(bound))
    table.add_row("solve seconds", f"{schedule.solve_seconds:.2f}", "")
    table.add_row("written to", str(output), "")
    return table


def _kpi_table(instance: Instance, schedule: Schedule) -> Table:
    """The plan's KPIs (scheduler/kpis.py) as a two-column table."""
    from scheduler.reporting.kpis import compute_kpis, format_kpis

    table = Table(title="KPIs", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    for label, value in format_kpis(compute_kpis(instance, schedule)):
        table.add_row(label, value)
    return table


def _print_suggestions(console: Console, instance: Instance, schedule: Schedule) -> None:
    """What would let each unscheduled patient in (scheduler/suggest.py), smallest change first."""
    for entry in schedule.unscheduled[:UNSCHEDULED_SHOWN]:
        for line in _suggestion_lines(instance, schedule, entry.patient, time_limit=5.0):
            console.print(line, markup=False)


def _suggestion_lines(
    instance: Instance, schedule: Schedule, patient_id: str, time_limit: float
) -> list[str]:
    """The verified changes (single or together) for one unscheduled patient, or why nothing is within reach."""
    from scheduler.workflows.suggest import format_suggestions, out_of_reach, suggest_changes

    found = suggest_changes(instance, schedule, patient_id, time_limit=time_limit)
    reason = None if found else out_of_reach(instance, schedule, patient_id)
    return format_suggestions(patient_id, found, reason)


def _print_unscheduled(console: Console, schedule: Schedule, output: Path) -> None:
    if not schedule.unscheduled:
        return
    console.print("unscheduled:")
    for entry in schedule.unscheduled[:UNSCHEDULED_SHOWN]:
        console.print(f"  {entry.patient}: {'; '.join(entry.reasons)}", markup=False)
    hidden = len(schedule.unscheduled) - UNSCHEDULED_SHOWN
    if hidden > 0:
        console.print(f"  ... and {hidden} more (see {output})", markup=False)


def _infeasibility(schedule: Schedule) -> list[str]:
    """The solver's explanation of why the fixed commitments cannot be honoured."""
    extra = schedule.model_extra or {}
    reasons = extra.get("infeasibility")
    if isinstance(reasons, list) and reasons:
        return [str(reason) for reason in reasons]
    return [
        f"{entry.patient}: {reason}" for entry in schedule.unscheduled for reason in entry.reasons
    ]


@app.command()
def solve(
    instance_file: Annotated[
        Path, typer.Argument(metavar="INSTANCE.json", help="Instance (cart-schedule-instance/1).")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="SCHEDULE.json", help="Where to write the schedule."
        ),
    ],
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.001, help="Seconds the solver may run in all.")
    ] = 60.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Solver threads.")] = 2,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, help="Random seed; with --workers 1 the result is reproducible."
        ),
    ] = 0,
    explain_unscheduled: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="After the summary, the smallest verified change per unscheduled patient.",
        ),
    ] = False,
) -> None:
    """Solve an instance and write the schedule (exit 0 OPTIMAL/FEASIBLE, 2 bad input, 3 INFEASIBLE/UNKNOWN)."""
    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    _check_writable(output)

    from scheduler.search.outcome import SolveOptions
    from scheduler.workflows.solve import solve as run_solver

    out, err = _out(), _err()
    with _ProgressDisplay(err) as display:
        schedule = run_solver(
            instance,
            SolveOptions(time_limit=time_limit, workers=workers, seed=seed, on_progress=display),
        )
    write_json(schedule, output)

    out.print(_summary(instance, schedule, output))
    if schedule.status in ("OPTIMAL", "FEASIBLE"):
        out.print(_kpi_table(instance, schedule))
        _print_unscheduled(out, schedule, output)
        if explain_unscheduled:
            _print_suggestions(out, instance, schedule)
        raise typer.Exit(EXIT_OK)
    if schedule.status == "INFEASIBLE":
        out.print("the fixed commitments cannot be honoured:")
        for reason in _infeasibility(schedule) or ["(the solver gave no explanation)"]:
            out.print(f"  {reason}", markup=False)
    else:
        out.print(
            f"no schedule found within {_number(time_limit)} s; try a longer --time-limit",
            markup=False,
        )
    raise typer.Exit(EXIT_NO_SCHEDULE)


@app.command()
def validate(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule for it (cart-schedule/1).")
    ],
) -> None:
    """Check a schedule against rules C1-C11; print `RULE: message` per violation (exit 1 if any)."""
    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    try:
        schedule = load_schedule(schedule_file)
    except InputError as error:
        _fail_input(error, str(schedule_file))

    from validator import compute_objective
    from validator import validate as check

    out = _out()
    violations = check(instance, schedule)
    for violation in violations:
        out.print(str(violation), markup=False)
    if violations:
        _err().print(f"invalid: {len(violations)} violation(s)", markup=False)
        raise typer.Exit(EXIT_VIOLATIONS)

    objective = _as_dict(compute_objective(instance, schedule))
    shown = ", ".join(
        f"{measure} {_number(objective.get(measure))}" for measure in instance.objective_order
    )
    out.print(
        f"valid: {len(schedule.assignments)} assignments, {len(schedule.unscheduled)} unscheduled, "
        f"objective {shown}",
        markup=False,
    )


def _as_dict(values: Any) -> dict[str, Any]:
    if isinstance(values, dict):
        return values
    if hasattr(values, "model_dump"):
        dumped: dict[str, Any] = values.model_dump()
        return dumped
    return {
        name: getattr(values, name, None)
        for name in ("scheduled_weight", "plan_changes", "wait_days")
    }


@app.command()
def generate(
    size: Annotated[str, typer.Option("--size", help=f"Instance size: {SIZE_NAMES}.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (default: stdout)."),
    ] = None,
    scenario: Annotated[
        str, typer.Option("--scenario", help="Scenario, e.g. normal, overload, dst, holidays.")
    ] = "normal",
) -> None:
    """Generate a random instance of a size and scenario; the same seed gives the same instance."""
    from generator import SCENARIOS, SIZES, generate_instance

    if size not in SIZES:
        _fail(f"unknown size {size!r}: choose one of {', '.join(SIZES)}")
    if scenario not in SCENARIOS:
        _fail(f"unknown scenario {scenario!r}: choose one of {', '.join(SCENARIOS)}")
    if output is not None:
        _check_writable(output)

    document = generate_instance(size, seed, scenario)
    try:
        instance = load_instance(document)
    except InputError as error:
        err = _err()
        err.print("error: the generated instance fails its own checks (a generator bug):")
        for problem in error.problems:
            err.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_VIOLATIONS) from error

    if output is None:
        sys.stdout.write(to_json(instance))
        return
    write_json(instance, output)
    _out().print(
        f"wrote {output}: {instance.name}, {len(instance.patients)} patients, "
        f"{len(instance.in_progress)} in progress, {len(instance.suites)} suites, "
        f"{len(instance.operators)} operators, {instance.horizon.days} days",
        markup=False,
    )


@app.command()
def schema(
    kind: Annotated[SchemaKind, typer.Argument(help="Which format: instance or schedule.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Where to write (default: stdout)."),
    ] = None,
) -> None:
    """Print the JSON Schema of the instance or schedule format."""
    model = Instance if kind is SchemaKind.instance else Schedule
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(),
    }
    text = json.dumps(document, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        _check_writable(output)
        output.write_text(text, encoding="utf-8")


def _check_target(path: Path) -> None:
    """Refuse a workbook target (.xlsx file or CSV folder) that cannot be written."""
    if path.suffix.lower() == ".xlsx":
        _check_writable(path)
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        _fail(f"cannot write {path}: folder {folder} does not exist")
    if path.exists() and not path.is_dir():
        _fail(f"cannot write {path}: give a .xlsx file or a folder for the CSV files")


WorkbookTarget = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        metavar="PLAN.xlsx|DIR",
        help="An .xlsx workbook, or a folder that gets one CSV file per sheet.",
    ),
]


@app.command("import")
def import_workbook(
    workbook: Annotated[
        Path, typer.Argument(metavar="PLAN.xlsx|DIR", help="A workbook, or a folder of CSV files.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="INSTANCE.json", help="Where to write the instance."
        ),
    ],
) -> None:
    """Read a planning workbook (or CSV folder) into an instance; every error by sheet, row and column (exit 2)."""
    from models.workbook import read_instance

    _check_writable(output)
    try:
        instance = read_instance(workbook)
    except InputError as error:
        _fail_input(error, str(workbook))
    write_json(instance, output)
    _out().print(
        f"wrote {output}: {instance.name}, {len(instance.patients)} patients, "
        f"{len(instance.in_progress)} in progress, {len(instance.suites)} suites, "
        f"{len(instance.operators)} operators",
        markup=False,
    )


@app.command()
def template(output: WorkbookTarget) -> None:
    """Write a workbook to fill in: every sheet's headers, an example row and drop-down lists."""
    from models.workbook import write_template

    _check_target(output)
    write_template(output)
    _out().print(f"wrote {output}: replace the example rows with your plan", markup=False)


@app.command("export-instance")
def export_instance(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    output: WorkbookTarget,
) -> None:
    """Write an instance as a planning workbook (or CSV folder); `import` reads it back unchanged."""
    from models.workbook import write_instance

    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    _check_target(output)
    write_instance(instance, output)
    _out().print(f"wrote {output}: {instance.name}", markup=False)


@app.command()
def export(
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule (cart-schedule/1).")
    ],
    instance_file: Annotated[
        Path, typer.Option("--instance", metavar="INSTANCE.json", help="The instance it plans.")
    ],
    output: WorkbookTarget,
    explain_unscheduled: Annotated[
        bool,
        typer.Option(
            "--explain",
            help="Add a suggestions sheet: the smallest verified change per unscheduled patient.",
        ),
    ] = False,
) -> None:
    """Write a plan workbook: patients, suites, operators, qc, unscheduled and kpis sheets."""
    from scheduler.reporting.plan_workbook import write_schedule
    from scheduler.workflows.suggest import out_of_reach, suggest_changes

    instance, schedule = _load_pair(instance_file, schedule_file)
    _check_target(output)
    suggestions = None
    reasons: dict[str, str] = {}
    if explain_unscheduled:
        suggestions = {
            e.patient: suggest_changes(instance, schedule, e.patient, time_limit=5.0)
            for e in schedule.unscheduled
        }
        for patient_id, found in suggestions.items():
            reason = None if found else out_of_reach(instance, schedule, patient_id)
            if reason is not None:
                reasons[patient_id] = reason
    write_schedule(instance, schedule, output, suggestions, reasons)
    _out().print(
        f"wrote {output}: {len(schedule.assignments)} assignments, {len(schedule.unscheduled)} unscheduled",
        markup=False,
    )


@app.command()
def gantt(
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule (cart-schedule/1).")
    ],
    instance_file: Annotated[
        Path, typer.Option("--instance", metavar="INSTANCE.json", help="The instance it plans.")
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="plan.html|plan.png", help="Interactive HTML or static PNG."
        ),
    ],
) -> None:
    """Draw the plan: suite positions over time, operator load per shift, QC load per day."""
    from scheduler.reporting.gantt import build_figure, write_html, write_png
    from scheduler.reporting.plan_facts import ScheduleMismatch

    if output.suffix.lower() not in (".html", ".png"):
        _fail(f"{output}: the picture must be .html (interactive) or .png (static)")
    instance, schedule = _load_pair(instance_file, schedule_file)
    _check_writable(output)
    try:
        if output.suffix.lower() == ".html":
            write_html(build_figure(instance, schedule), output)
        else:
            write_png(instance, schedule, output)
    except ScheduleMismatch as error:
        _fail(f"{schedule_file} does not fit {instance_file}: {error}")
    _out().print(f"wrote {output}: {len(schedule.assignments)} batches drawn", markup=False)


def _parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        _fail(f"--as-of {text!r} is not a local date-time of the form YYYY-MM-DDTHH:MM")


@app.command()
def replan(
    instance_file: Annotated[
        Path,
        typer.Argument(metavar="INSTANCE.json", help="The instance the previous schedule plans."),
    ],
    previous_file: Annotated[
        Path, typer.Option("--previous", metavar="SCHEDULE.json", help="The previous schedule.")
    ],
    events_file: Annotated[
        Path,
        typer.Option(
            "--events", metavar="EVENTS.json", help="What happened (cart-schedule-events/1)."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output", "-o", metavar="NEW_SCHEDULE.json", help="Where to write the new schedule."
        ),
    ],
    instance_out: Annotated[
        Path | None,
        typer.Option(
            "--instance-out",
            metavar="NEW_INSTANCE.json",
            help="Where to write the new instance (default: NEW_SCHEDULE.instance.json).",
        ),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            metavar="YYYY-MM-DDTHH:MM",
            help="Local time of the re-plan: work started before it is fixed (default: the events' as_of, else the horizon start).",
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.001, help="Seconds the solver may run in all.")
    ] = 60.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Solver threads.")] = 2,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Apply events to a plan and solve again from it; print the summary and who moved (exit codes as `solve`)."""
    moment = _parse_as_of(as_of)
    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    try:
        previous = load_schedule(previous_file)
    except InputError as error:
        _fail_input(error, str(previous_file))

    from models.events import load_events
    from scheduler.search.outcome import SolveOptions
    from scheduler.workflows.plan_diff import format_diff
    from scheduler.workflows.replan import apply_events, resolve_as_of
    from scheduler.workflows.replan import replan_with_instance as run_replan

    try:
        events = load_events(events_file, instance)
        apply_events(
            instance, previous, events, moment
        )  # every problem before spending time on a solve
    except InputError as error:
        _fail_input(error, str(events_file))
    new_instance_file = instance_out or output.with_name(f"{output.stem}.instance.json")
    _check_writable(output)
    _check_writable(new_instance_file)
    out, err = _out(), _err()
    with _ProgressDisplay(err) as display:
        outcome = run_replan(
            instance,
            previous,
            events,
            SolveOptions(time_limit=time_limit, workers=workers, seed=seed, on_progress=display),
            resolve_as_of(instance, events, moment),
        )
    write_json(outcome.instance, new_instance_file)
    write_json(outcome.schedule, output)

    out.print(_summary(outcome.instance, outcome.schedule, output))
    out.print(f"new instance written to {new_instance_file}", markup=False)
    for line in format_diff(outcome.diff):
        out.print(line, markup=False)
    schedule = outcome.schedule
    if schedule.status in ("OPTIMAL", "FEASIBLE"):
        _print_unscheduled(out, schedule, output)
        raise typer.Exit(EXIT_OK)
    if schedule.status == "INFEASIBLE":
        out.print("the fixed commitments cannot be honoured:")
        for reason in _infeasibility(schedule) or ["(the solver gave no explanation)"]:
            out.print(f"  {reason}", markup=False)
    else:
        out.print(
            f"no schedule found within {_number(time_limit)} s; try a longer --time-limit",
            markup=False,
        )
    raise typer.Exit(EXIT_NO_SCHEDULE)


def _load_pair(instance_file: Path, schedule_file: Path) -> tuple[Instance, Schedule]:
    """An instance and a schedule of it, or exit 2 naming what is wrong."""
    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    try:
        schedule = load_schedule(schedule_file)
    except InputError as error:
        _fail_input(error, str(schedule_file))
    if schedule.instance != instance.name:
        _fail(
            f"{schedule_file} plans instance {schedule.instance!r}, not {instance.name!r} ({instance_file})"
        )
    return instance, schedule


@app.command()
def analyze(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule, e.g. edited by hand.")
    ],
) -> None:
    """Check a (hand-edited) plan: every rule it breaks with patients, resources and dates, and its objective (exit 1 if any)."""
    from scheduler.workflows.analyze import analyze as analyze_plan
    from scheduler.workflows.analyze import format_analysis

    instance, schedule = _load_pair(instance_file, schedule_file)
    analysis = analyze_plan(instance, schedule)
    for line in format_analysis(analysis):
        _out().print(line, markup=False)
    raise typer.Exit(EXIT_OK if analysis.valid else EXIT_VIOLATIONS)


@app.command()
def explain(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule of it.")
    ],
    patient: Annotated[
        list[str] | None,
        typer.Option("--patient", "-p", help="Unscheduled patient(s) to explain (default: all)."),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds per patient.")
    ] = 10.0,
) -> None:
    """For unscheduled patients, the smallest verified changes (one, or several together) that would let each be scheduled."""
    instance, schedule = _load_pair(instance_file, schedule_file)
    unscheduled = [entry.patient for entry in schedule.unscheduled]
    wanted = patient or unscheduled
    for patient_id in wanted:
        if patient_id not in unscheduled:
            _fail(f"{patient_id} is not an unscheduled patient of {schedule_file}")
    for patient_id in wanted:
        for line in _suggestion_lines(instance, schedule, patient_id, time_limit):
            _out().print(line, markup=False)


@app.command()
def whatif(
    instance_file: Annotated[
        Path, typer.Argument(metavar="INSTANCE.json", help="The plan's instance.")
    ],
    scenario_file: Annotated[
        Path,
        typer.Option(
            "--scenario",
            metavar="SCENARIO.json",
            help='{"name": ..., "changes": [...]} (see README)',
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="SCHEDULE.json",
            help="Where to write the scenario's schedule.",
        ),
    ],
    schedule_file: Annotated[
        Path | None,
        typer.Option(
            "--schedule",
            metavar="SCHEDULE.json",
            help="The plan to compare with (default: solve it too).",
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.001, help="Seconds per solve.")
    ] = 60.0,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Solver threads.")] = 2,
) -> None:
    """What if: solve the plan with changed inputs and show objective and KPIs side by side with the plan."""
    from models.scenarios import ScenarioError, apply_scenario, parse_scenario
    from scheduler.reporting.kpis import compare_plans
    from scheduler.search.outcome import SolveOptions
    from scheduler.workflows.solve import solve as run_solver

    try:
        instance = load_instance(instance_file)
    except InputError as error:
        _fail_input(error, str(instance_file))
    try:
        scenario = parse_scenario(json.loads(scenario_file.read_text(encoding="utf-8")))
        changed = load_instance(apply_scenario(json.loads(to_json(instance)), scenario))
    except ScenarioError as error:
        _fail_input(error, str(scenario_file))
    except (OSError, ValueError) as error:
        _fail(f"{scenario_file}: {error}")
    if schedule_file is not None:
        base = load_schedule(schedule_file)
        if base.instance != instance.name:
            _fail(f"{schedule_file} plans instance {base.instance!r}, not {instance.name!r}")
    else:
        base = run_solver(instance, SolveOptions(time_limit=time_limit, workers=workers))
    _check_writable(output)
    schedule = run_solver(changed, SolveOptions(time_limit=time_limit, workers=workers))
    write_json(schedule, output)
    instance_out = output.with_name(output.name.removesuffix(".json") + ".instance.json")
    write_json(changed, instance_out)
    comparison = compare_plans([(instance, base), (changed, schedule)])
    table = Table(title=f"what if: {scenario.name}", title_justify="left")
    for index, heading in enumerate(comparison["header"]):
        table.add_column(heading, justify="left" if index == 0 else "right")
    for row in comparison["rows"]:
        table.add_row(*row)
    _out().print(table)
    _out().print(f"wrote {output} and {instance_out}", markup=False)


def main() -> None:
    """Entry point of the `cart-schedule` console script."""
    app()


if __name__ == "__main__":
    main()
