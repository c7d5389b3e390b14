"""What the planning commands print about a schedule: the summary table, the KPIs, who is
unscheduled and why, the changes that would let them in, and why no schedule was found."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from cli.common import number
from models import Instance, Schedule

UNSCHEDULED_SHOWN = 20


def summary(instance: Instance, schedule: Schedule, output: Path) -> Table:
    """Status, patients scheduled and not, and each objective measure with its bound."""
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
        table.add_row(measure, number(value), number(bound))
    table.add_row("solve seconds", f"{schedule.solve_seconds:.2f}", "")
    table.add_row("written to", str(output), "")
    return table


def kpi_table(instance: Instance, schedule: Schedule) -> Table:
    """The plan's KPIs (scheduler/reporting/kpis.py) as a two-column table."""
    from scheduler.reporting.kpis import compute_kpis, format_kpis

    table = Table(title="KPIs", title_justify="left")
    table.add_column("")
    table.add_column("value", justify="right")
    for label, value in format_kpis(compute_kpis(instance, schedule)):
        table.add_row(label, value)
    return table


def print_unscheduled(console: Console, schedule: Schedule, output: Path) -> None:
    """The first unscheduled patients with the reasons each is out, then how many more."""
    if not schedule.unscheduled:
        return
    console.print("unscheduled:")
    for entry in schedule.unscheduled[:UNSCHEDULED_SHOWN]:
        console.print(f"  {entry.patient}: {'; '.join(entry.reasons)}", markup=False)
    hidden = len(schedule.unscheduled) - UNSCHEDULED_SHOWN
    if hidden > 0:
        console.print(f"  ... and {hidden} more (see {output})", markup=False)


def suggestion_lines(
    instance: Instance, schedule: Schedule, patient_id: str, time_limit: float
) -> list[str]:
    """The verified changes (single or together) for one unscheduled patient, or why nothing is within reach."""
    from scheduler.workflows.suggest import format_suggestions, out_of_reach, suggest_changes

    found = suggest_changes(instance, schedule, patient_id, time_limit=time_limit)
    reason = None if found else out_of_reach(instance, schedule, patient_id)
    return format_suggestions(patient_id, found, reason)


def print_suggestions(console: Console, instance: Instance, schedule: Schedule) -> None:
    """What would let each shown unscheduled patient in, smallest change first."""
    for entry in schedule.unscheduled[:UNSCHEDULED_SHOWN]:
        for line in suggestion_lines(instance, schedule, entry.patient, time_limit=5.0):
            console.print(line, markup=False)


def infeasibility(schedule: Schedule) -> list[str]:
    """The solver's explanation of why the fixed commitments cannot be honoured."""
    extra = schedule.model_extra or {}
    reasons = extra.get("infeasibility")
    if isinstance(reasons, list) and reasons:
        return [str(reason) for reason in reasons]
    return [
        f"{entry.patient}: {reason}" for entry in schedule.unscheduled for reason in entry.reasons
    ]


def print_no_schedule(console: Console, schedule: Schedule, time_limit: float) -> None:
    """Why a solve gave no schedule: the commitments that clash, or the time limit ran out."""
    if schedule.status == "INFEASIBLE":
        console.print("the fixed commitments cannot be honoured:")
        for reason in infeasibility(schedule) or ["(the solver gave no explanation)"]:
            console.print(f"  {reason}", markup=False)
    else:
        console.print(
            f"no schedule found within {number(time_limit)} s; try a longer --time-limit",
            markup=False,
        )
