"""The coordinators' files: workbook template, import, export-instance, the plan workbook
(export) and the Gantt picture."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import (
    check_target,
    check_writable,
    fail,
    fail_input,
    load_pair,
    out,
    read_instance_file,
)
from models import InputError, write_json

WorkbookTarget = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        metavar="PLAN.xlsx|DIR",
        help="An .xlsx workbook, or a folder that gets one CSV file per sheet.",
    ),
]


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

    check_writable(output)
    try:
        instance = read_instance(workbook)
    except InputError as error:
        fail_input(error, str(workbook))
    write_json(instance, output)
    out().print(
        f"wrote {output}: {instance.name}, {len(instance.patients)} patients, "
        f"{len(instance.in_progress)} in progress, {len(instance.suites)} suites, "
        f"{len(instance.operators)} operators",
        markup=False,
    )


def template(output: WorkbookTarget) -> None:
    """Write a workbook to fill in: every sheet's headers, an example row and drop-down lists."""
    from models.workbook import write_template

    check_target(output)
    write_template(output)
    out().print(f"wrote {output}: replace the example rows with your plan", markup=False)


def export_instance(
    instance_file: Annotated[Path, typer.Argument(metavar="INSTANCE.json", help="The instance.")],
    output: WorkbookTarget,
) -> None:
    """Write an instance as a planning workbook (or CSV folder); `import` reads it back unchanged."""
    from models.workbook import write_instance

    instance = read_instance_file(instance_file)
    check_target(output)
    write_instance(instance, output)
    out().print(f"wrote {output}: {instance.name}", markup=False)


def export(
    schedule_file: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", help="A schedule (cart-schedule/1).")
    ],
    instance_file: Annotated[
        Path, typer.Option("--instance", metavar="INSTANCE.json", help="The instance it plans.")
    ],
    output: WorkbookTarget,
    suggest_changes_sheet: Annotated[
        bool,
        typer.Option(
            "--suggest",
            "--explain",
            help="Add a suggestions sheet: the smallest verified change per unscheduled patient.",
        ),
    ] = False,
) -> None:
    """Write a plan workbook: patients, suites, operators, qc, unscheduled and kpis sheets."""
    from scheduler.reporting.plan_workbook import write_schedule
    from scheduler.workflows.suggest import out_of_reach, suggest_changes

    instance, schedule = load_pair(instance_file, schedule_file)
    check_target(output)
    suggestions = None
    reasons: dict[str, str] = {}
    if suggest_changes_sheet:
        suggestions = {
            e.patient: suggest_changes(instance, schedule, e.patient, time_limit=5.0)
            for e in schedule.unscheduled
        }
        for patient_id, found in suggestions.items():
            reason = None if found else out_of_reach(instance, schedule, patient_id)
            if reason is not None:
                reasons[patient_id] = reason
    write_schedule(instance, schedule, output, suggestions, reasons)
    out().print(
        f"wrote {output}: {len(schedule.assignments)} assignments, {len(schedule.unscheduled)} unscheduled",
        markup=False,
    )


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
        fail(f"{output}: the picture must be .html (interactive) or .png (static)")
    instance, schedule = load_pair(instance_file, schedule_file)
    check_writable(output)
    try:
        if output.suffix.lower() == ".html":
            write_html(build_figure(instance, schedule), output)
        else:
            write_png(instance, schedule, output)
    except ScheduleMismatch as error:
        fail(f"{schedule_file} does not fit {instance_file}: {error}")
    out().print(f"wrote {output}: {len(schedule.assignments)} batches drawn", markup=False)
