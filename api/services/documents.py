"""Documents judged without being stored: an uploaded planning workbook, a (hand-edited) plan."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from api.errors import Unprocessable
from api.schemas import AnalysisOut, WorkbookOut
from models import InputError, Instance, Problem, load_instance, load_schedule, to_json
from models.workbook import read_instance
from scheduler.workflows.analyze import analyze as analyze_plan

WHERE = re.compile(r"^(?P<sheet>.+?)(?: row (?P<row>\d+))?(?:,? column (?P<column>.+))?$")


def read_uploaded_workbook(data: bytes) -> Instance:
    """An uploaded XLSX as an instance; any problem is a 422 naming sheet, row and column."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.xlsx"
        path.write_bytes(data)
        try:
            return read_instance(path)
        except InputError as error:
            raise Unprocessable(
                "the workbook has problems",
                extra={"problems": [_located(p) for p in error.problems]},
            ) from error
        except Exception as error:  # not a workbook at all (bad zip, not XLSX)
            raise Unprocessable(
                f"the file is not an XLSX workbook ({type(error).__name__})"
            ) from error


def _located(problem: Problem) -> dict[str, Any]:
    """A workbook problem with its sheet, row and column as separate fields (for the page's table)."""
    where = WHERE.match(problem.path)
    sheet, row, column = (
        (where["sheet"], where["row"], where["column"]) if where else (problem.path, None, None)
    )
    return {
        "path": problem.path,
        "sheet": sheet,
        "row": None if row is None else int(row),
        "column": column,
        "message": problem.message,
    }


def check_workbook(data: bytes, max_bytes: int) -> WorkbookOut:
    """A planning workbook as a `cart-schedule-instance/1` document with a short summary.

    `data` may hold one byte more than `max_bytes`: that is how a too-large upload is told.
    """
    if len(data) > max_bytes:
        raise Unprocessable(f"the workbook is larger than {max_bytes // 1_000_000} MB")
    instance = read_uploaded_workbook(data)
    return WorkbookOut(
        instance=json.loads(to_json(instance)),
        summary={
            "name": instance.name,
            "patients": len(instance.patients),
            "in_progress": len(instance.in_progress),
            "suites": len(instance.suites),
            "operators": len(instance.operators),
            "horizon_days": instance.horizon.days,
        },
    )


def analyze(instance: dict[str, Any], schedule: dict[str, Any]) -> AnalysisOut:
    """Every rule a (hand-edited) plan breaks, with patients, resources and dates, and its objective."""
    problems = []
    try:
        checked_instance = load_instance(instance)
    except InputError as error:
        problems += [
            Problem(f"body.instance.{p.path}" if p.path else "body.instance", p.message)
            for p in error.problems
        ]
    try:
        checked_schedule = load_schedule(schedule)
    except InputError as error:
        problems += [
            Problem(f"body.schedule.{p.path}" if p.path else "body.schedule", p.message)
            for p in error.problems
        ]
    if problems:
        raise Unprocessable("the documents have problems", problems)
    return AnalysisOut.model_validate(analyze_plan(checked_instance, checked_schedule).to_dict())
