"""The planning commands: solve, validate, analyze, suggest, whatif and replan."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from cli.common import (
    EXIT_NO_SCHEDULE,
    EXIT_OK,
    EXIT_VIOLATIONS,
    ProgressDisplay,
    check_writable,
    err,
    fail,
    fail_input,
    load_pair,
    number,
    out,
    read_instance_file,
)
from cli.summaries import (
    kpi_table,
    print_no_schedule,
    print_suggestions,
    print_unscheduled,
    suggestion_lines,
    summary,
)
from models import InputError, Instance, Schedule, load_instance, to_json, write_json

RATE_HELP = "(default: the product's own field, else docs/SIMULATION.md)"


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
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Solver threads (default: the cores, at most 8)."),
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, help="Random seed; with --workers 1 the result is reproducible."
        ),
    ] = 0,
    suggest_changes: Annotated[
        bool,
        typer.Option(
            "--suggest",
            "--explain",
            help="After the summary, the smallest verified change per unscheduled patient.",
        ),
    ] = False,
    robust: Annotated[
        bool,
        typer.Option(
            "--robust",
            help="Keep suite positions free where sampled failures need rescues "
            "(docs/ROBUST.md); gives up at most --max-weight-loss of the scheduled weight.",
        ),
    ] = False,
    failure_rate: Annotated[
        float | None,
        typer.Option(
            "--failure-rate", min=0, max=1, help=f"--robust: per batch, no product {RATE_HELP}."
        ),
    ] = None,
    out_of_spec_rate: Annotated[
        float | None,
        typer.Option(
            "--out-of-spec-rate",
            min=0,
            max=1,
            help=f"--robust: per batch, out of specification {RATE_HELP}.",
        ),
    ] = None,
    dropout_rate: Annotated[
        float | None,
        typer.Option(
            "--dropout-rate",
            min=0,
            max=1,
            help=f"--robust: per patient, never infused {RATE_HELP}.",
        ),
    ] = None,
    robust_samples: Annotated[
        int, typer.Option("--robust-samples", min=1, help="--robust: sampled failure sets.")
    ] = 500,
    robust_quantile: Annotated[
        float,
        typer.Option(
            "--robust-quantile",
            min=0.5,
            max=1,
            help="--robust: reserve k positions on a day when P(need >= k) > 1 - quantile.",
        ),
    ] = 0.8,
    max_weight_loss: Annotated[
        float,
        typer.Option(
            "--max-weight-loss",
            min=0,
            max=1,
            help="--robust-method reserve: most of the deterministic scheduled weight the "
            "reservation may cost.",
        ),
    ] = 0.02,
    robust_method: Annotated[
        str,
        typer.Option(
            "--robust-method",
            help="--robust: soft (default; the deterministic scheduled weight and plan changes "
            "held, free suite positions and starts rewarded where sampled rescues need them) "
            "or reserve (hard reservation, may give up weight; docs/ROBUST.md).",
        ),
    ] = "soft",
    wait_slack: Annotated[
        float,
        typer.Option(
            "--wait-slack",
            min=0,
            help="--robust-method soft: share by which wait days may grow for rescue capacity.",
        ),
    ] = 0.02,
    min_cover_gain: Annotated[
        float,
        typer.Option(
            "--min-cover-gain",
            min=0,
            help="--robust-method soft: least gain in expected rescue needs covered for which "
            "the deterministic plan is rearranged.",
        ),
    ] = 0.5,
) -> None:
    """Solve an instance and write the schedule (exit 0 OPTIMAL/FEASIBLE, 2 bad input, 3 INFEASIBLE/UNKNOWN)."""
    if robust_method not in ("soft", "reserve"):
        raise typer.BadParameter("soft or reserve", param_hint="--robust-method")
    instance = read_instance_file(instance_file)
    check_writable(output)

    from scheduler.search.outcome import SolveOptions
    from scheduler.search.parameters import default_workers
    from scheduler.workflows.solve import solve as run_solver

    console = out()
    with ProgressDisplay(err()) as display:
        options = SolveOptions(
            time_limit=time_limit,
            workers=workers or default_workers(),
            seed=seed,
            on_progress=display,
        )
        if robust:
            from scheduler.workflows.robust import RobustConfig, solve_robust
            from scheduler.workflows.simulate import Rates

            rates = Rates(failure_rate, out_of_spec_rate, dropout_rate)
            config = RobustConfig(
                rates,
                robust_samples,
                robust_quantile,
                max_weight_loss,
                seed=seed,
                method=robust_method,
                wait_slack=wait_slack,
                min_cover_gain=min_cover_gain,
            )
            schedule = solve_robust(instance, options, config)
        else:
            schedule = run_solver(instance, options)
    write_json(schedule, output)
    if robust:
        console.print(_robust_line(getattr(schedule, "robust", {})), markup=False)

    console.print(summary(instance, schedule, output))
    if schedule.status in ("OPTIMAL", "FEASIBLE"):
        console.print(kpi_table(instance, schedule))
        print_unscheduled(console, schedule, output)
        if suggest_changes:
            print_suggestions(console, instance, schedule)
        raise typer.Exit(EXIT_OK)
    print_no_schedule(console, schedule, time_limit)
    raise typer.Exit(EXIT_NO_SCHEDULE)


def _robust_line(report: dict[str, Any]) -> str:
    """One line on what `--robust` kept free and what it cost."""
    if str(report.get("method", "")).startswith("soft"):
        if "cover_robust" in report and "kept_deterministic" not in report:
            return (
                "robust (soft): scheduled weight and plan changes held; expected rescue need "
                f"covered {report['cover_deterministic']} -> {report['cover_robust']} "
                f"(/{report['cover_scale']})"
            )
        return f"robust (soft): deterministic plan kept ({report.get('kept_deterministic')})"
    kept = report.get("reserved_positions") or []
    if not kept:
        return (
            "robust: nothing reserved (no need sampled, or every reservation cost too much weight)"
        )
    det = (report.get("deterministic_objective") or {}).get("scheduled_weight")
    return (
        f"robust: {len(kept)} reserved window(s) at quantile {report.get('quantile')}; "
        f"deterministic scheduled weight {det}"
    )


def validate(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule for it (cart-schedule/1).")
    ],
) -> None:
    """Check a schedule against rules C1-C11; print `RULE: message` per violation (exit 1 if any)."""
    # A schedule of another instance is the validator's to report, as a violation.
    instance, schedule = load_pair(instance_file, schedule_file, same_instance=False)

    from validator import compute_objective
    from validator import validate as check

    console = out()
    violations = check(instance, schedule)
    for violation in violations:
        console.print(str(violation), markup=False)
    if violations:
        err().print(f"invalid: {len(violations)} violation(s)", markup=False)
        raise typer.Exit(EXIT_VIOLATIONS)

    objective = _as_dict(compute_objective(instance, schedule))
    shown = ", ".join(
        f"{measure} {number(objective.get(measure))}" for measure in instance.objective_order
    )
    console.print(
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


def analyze(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule, e.g. edited by hand.")
    ],
) -> None:
    """Check a (hand-edited) plan: every rule it breaks with patients, resources and dates, and its objective (exit 1 if any)."""
    from scheduler.workflows.analyze import analyze as analyze_plan
    from scheduler.workflows.analyze import format_analysis

    instance, schedule = load_pair(instance_file, schedule_file)
    analysis = analyze_plan(instance, schedule)
    for line in format_analysis(analysis):
        out().print(line, markup=False)
    raise typer.Exit(EXIT_OK if analysis.valid else EXIT_VIOLATIONS)


def suggest(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule of it.")
    ],
    patient: Annotated[
        list[str] | None,
        typer.Option(
            "--patient", "-p", help="Unscheduled patient(s) to find changes for (default: all)."
        ),
    ] = None,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, help="Seconds per patient.")
    ] = 10.0,
) -> None:
    """For unscheduled patients, the smallest verified changes (one, or several together) that would let each be scheduled."""
    instance, schedule = load_pair(instance_file, schedule_file)
    unscheduled = [entry.patient for entry in schedule.unscheduled]
    wanted = patient or unscheduled
    for patient_id in wanted:
        if patient_id not in unscheduled:
            fail(f"{patient_id} is not an unscheduled patient of {schedule_file}")
    for patient_id in wanted:
        for line in suggestion_lines(instance, schedule, patient_id, time_limit):
            out().print(line, markup=False)


def whatif(
    instance_file: Annotated[
        Path, typer.Argument(metavar="INSTANCE.json", help="The plan's instance.")
    ],
    scenario_files: Annotated[
        list[Path],
        typer.Option(
            "--scenario",
            metavar="SCENARIO.json",
            help='{"name": ..., "changes": [...]} (see README); repeat it to solve several at once.',
        ),
    ],
    outputs: Annotated[
        list[Path],
        typer.Option(
            "--output",
            "-o",
            metavar="SCHEDULE.json|DIR",
            help="Where to write the scenario's schedule: once per scenario, or one folder for them all.",
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
    workers: Annotated[int, typer.Option("--workers", min=1, help="Solver threads per solve.")] = 2,
    seed: Annotated[
        int,
        typer.Option(
            "--seed", min=0, help="Random seed; with --workers 1 the result is reproducible."
        ),
    ] = 0,
    broker: Annotated[
        str | None,
        typer.Option(
            "--broker",
            envvar="CART_BROKER_URL",
            help="Solve on the Celery workers of this broker (`cart-schedule worker`), not here.",
            show_default=False,
        ),
    ] = None,
    queue: Annotated[
        str,
        typer.Option(
            "--queue",
            envvar="CART_SCHEDULER_SOLVE_QUEUE",
            help="The broker queue the workers take solves from.",
        ),
    ] = "cart-plans",
) -> None:
    """What if: solve the plan with changed inputs (several scenarios in parallel) and show objective and KPIs side by side with the plan."""
    from models.scenarios import ScenarioError, apply_scenario, parse_scenario
    from scheduler.reporting.kpis import compare_plans

    instance = read_instance_file(instance_file)
    document = json.loads(to_json(instance))
    scenarios = []
    changed = []
    for scenario_file in scenario_files:
        try:
            scenario = parse_scenario(json.loads(scenario_file.read_text(encoding="utf-8")))
            changed.append(load_instance(apply_scenario(document, scenario)))
        except ScenarioError as error:
            fail_input(error, str(scenario_file))
        except (OSError, ValueError) as error:
            fail(f"{scenario_file}: {error}")
        scenarios.append(scenario)
    # The scenarios' problems come before the compared plan's, as they always have.
    base = None
    if schedule_file is not None:
        _, base = load_pair(instance_file, schedule_file, instance=instance)
    targets = _whatif_targets(outputs, changed)
    for schedule_out, _ in targets:
        check_writable(schedule_out)

    # The plan (unless given) and every scenario, each its own solve, all at once.
    solved = ([] if base is not None else [instance]) + changed
    if broker:
        sent = [json.loads(scenario.model_dump_json(exclude_unset=True)) for scenario in scenarios]
        schedules = _solve_on_workers(
            broker,
            queue,
            document,
            ([] if base is not None else [None]) + sent,
            time_limit,
            workers,
            seed,
        )
    else:
        schedules = _solve_here(solved, time_limit, workers, seed)
    if base is None:
        base, schedules = schedules[0], schedules[1:]

    for (schedule_out, instance_out), schedule, scenario_instance in zip(
        targets, schedules, changed, strict=True
    ):
        write_json(schedule, schedule_out)
        write_json(scenario_instance, instance_out)
    comparison = compare_plans([(instance, base), *zip(changed, schedules, strict=True)])
    names = ", ".join(scenario.name for scenario in scenarios)
    table = Table(title=f"what if: {names}", title_justify="left")
    for index, heading in enumerate(comparison["header"]):
        table.add_column(heading, justify="left" if index == 0 else "right")
    for row in comparison["rows"]:
        table.add_row(*row)
    out().print(table)
    for schedule_out, instance_out in targets:
        out().print(f"wrote {schedule_out} and {instance_out}", markup=False)


def _whatif_targets(outputs: list[Path], changed: list[Instance]) -> list[tuple[Path, Path]]:
    """(schedule, instance) file of each scenario: `-o` once per scenario, or one folder for all."""
    folder = len(outputs) == 1 and (len(changed) > 1 or outputs[0].is_dir())
    if folder:
        directory = outputs[0]
        if directory.suffix == ".json" and not directory.is_dir():
            fail(
                f"-o {directory}: with {len(changed)} scenarios, give a folder or one -o per scenario"
            )
        parent = directory.parent if str(directory.parent) else Path(".")
        if not parent.is_dir():
            fail(f"cannot write {directory}: folder {parent} does not exist")
        directory.mkdir(exist_ok=True)
        stems: list[str] = []
        for scenario_instance in changed:
            stem = _file_stem(scenario_instance.name)
            if stem in stems:
                stem = f"{stem}-{len(stems) + 1}"
            stems.append(stem)
        return [(directory / f"{stem}.json", directory / f"{stem}.instance.json") for stem in stems]
    if len(outputs) != len(changed):
        fail(
            f"{len(changed)} scenario(s) and {len(outputs)} -o: give -o once per scenario, "
            "or one folder for them all"
        )
    return [
        (output, output.with_name(output.name.removesuffix(".json") + ".instance.json"))
        for output in outputs
    ]


def _file_stem(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.") or "scenario"


def _solve_here(
    instances: list[Instance], time_limit: float, workers: int, seed: int
) -> list[Schedule]:
    """One solve: in this process; several: in local processes at once."""
    from scheduler.workflows.solve import solve as run_solver
    from scheduler.workflows.whatif import FanOutOptions, solve_in_processes

    options = FanOutOptions(time_limit=time_limit, workers=workers, seed=seed)
    if len(instances) == 1:
        return [run_solver(instances[0], options.solve_options())]
    return solve_in_processes(instances, options)


def _solve_on_workers(
    broker: str,
    queue: str,
    document: dict[str, Any],
    scenarios: list[dict[str, Any] | None],
    time_limit: float,
    workers: int,
    seed: int,
) -> list[Schedule]:
    """Every solve as a task of one Celery group, to the workers of the broker's queue."""
    from api.solving.fanout import solve_on_workers
    from scheduler.workflows.whatif import FanOutOptions

    options = FanOutOptions(time_limit=time_limit, workers=workers, seed=seed)
    try:
        return solve_on_workers(broker, document, scenarios, options, queue=queue)
    except Exception as error:  # the broker unreachable, no worker in time, a failed solve
        fail(
            f"the workers of {queue} did not solve it: {type(error).__name__}: {error}",
            EXIT_NO_SCHEDULE,
        )


def _parse_as_of(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M")
    except ValueError:
        fail(f"--as-of {text!r} is not a local date-time of the form YYYY-MM-DDTHH:MM")


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
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, help="Solver threads (default: the cores, at most 8)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed.")] = 0,
) -> None:
    """Apply events to a plan and solve again from it; print the summary and who moved (exit codes as `solve`)."""
    moment = _parse_as_of(as_of)
    # A previous schedule of another instance is reported with the events' problems.
    instance, previous = load_pair(instance_file, previous_file, same_instance=False)

    from models.events import load_events
    from scheduler.search.outcome import SolveOptions
    from scheduler.search.parameters import default_workers
    from scheduler.workflows.plan_diff import format_diff
    from scheduler.workflows.replan import apply_events, resolve_as_of
    from scheduler.workflows.replan import replan_with_instance as run_replan

    try:
        events = load_events(events_file, instance)
        # every problem before spending time on a solve
        apply_events(instance, previous, events, moment)
    except InputError as error:
        fail_input(error, str(events_file))
    new_instance_file = instance_out or output.with_name(f"{output.stem}.instance.json")
    check_writable(output)
    check_writable(new_instance_file)
    console = out()
    with ProgressDisplay(err()) as display:
        outcome = run_replan(
            instance,
            previous,
            events,
            SolveOptions(
                time_limit=time_limit,
                workers=workers or default_workers(),
                seed=seed,
                on_progress=display,
            ),
            resolve_as_of(instance, events, moment),
        )
    write_json(outcome.instance, new_instance_file)
    write_json(outcome.schedule, output)

    console.print(summary(outcome.instance, outcome.schedule, output))
    console.print(f"new instance written to {new_instance_file}", markup=False)
    for line in format_diff(outcome.diff):
        console.print(line, markup=False)
    schedule = outcome.schedule
    if schedule.status in ("OPTIMAL", "FEASIBLE"):
        print_unscheduled(console, schedule, output)
        raise typer.Exit(EXIT_OK)
    print_no_schedule(console, schedule, time_limit)
    raise typer.Exit(EXIT_NO_SCHEDULE)
