"""Documents judged without being stored: an uploaded planning workbook, a (hand-edited) plan."""

from __future__ import annotations

import re
from typing import Any

from api.errors import Unprocessable
from api.schemas import AnalysisOut, WorkbookOut
from models import InputError, Problem, load_instance, load_schedule
from models.workbook import sandbox
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits
from scheduler.workflows.analyze import analyze as analyze_plan

WHERE = re.compile(r"^(?P<sheet>.+?)(?: row (?P<row>\d+))?(?:,? column (?P<column>.+))?$")


ZIP_MAGIC = b"PK\x03\x04"  # every .xlsx starts with a zip member's local header


def read_uploaded_workbook(
    data: bytes,
    limits: WorkbookLimits = DEFAULT_LIMITS,
    *,
    memory_bytes: int = sandbox.MEMORY_BYTES,
    seconds: float = sandbox.SECONDS,
) -> dict[str, Any]:
    """An uploaded XLSX as an instance document; any problem is a 422 naming sheet, row and column.

    The bytes are parsed in a child process limited to `memory_bytes` and `seconds`
    (`models.workbook.sandbox`), never in the serving process: a crafted file costs the child,
    which is killed, and is answered 422 saying which limit it hit.
    """
    if not data.startswith(ZIP_MAGIC):
        problem = Problem(
            sandbox.UPLOAD_NAME,
            "cannot read the workbook: the file is not an XLSX workbook (not a zip archive)",
        )
        raise Unprocessable("the workbook has problems", extra={"problems": [_located(problem)]})
    try:
        return sandbox.read_workbook_isolated(
            data, limits, memory_bytes=memory_bytes, seconds=seconds
        )
    except sandbox.SandboxProblems as error:
        raise Unprocessable(
            "the workbook has problems",
            extra={"problems": [_located(p) for p in error.problems]},
        ) from error
    except sandbox.UnreadableWorkbook as error:  # a malformed part the checks do not name
        raise _refused(f"the file is not an XLSX workbook ({error})") from error
    except sandbox.SandboxFailure as error:
        raise _refused(str(error)) from error


def _refused(message: str) -> Unprocessable:
    """A 422 about the whole file, also as its one problem (the page lists problems)."""
    problem = _located(Problem(sandbox.UPLOAD_NAME, message))
    return Unprocessable(message, extra={"problems": [problem]})


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


def check_workbook(
    data: bytes,
    max_bytes: int,
    limits: WorkbookLimits = DEFAULT_LIMITS,
    *,
    memory_bytes: int = sandbox.MEMORY_BYTES,
    seconds: float = sandbox.SECONDS,
) -> WorkbookOut:
    """A planning workbook as a `cart-schedule-instance/1` document with a short summary.

    `data` may hold one byte more than `max_bytes`: that is how a too-large upload is told.
    """
    if len(data) > max_bytes:
        raise _refused(f"the workbook is larger than {max_bytes // 1_000_000} MB")
    instance = read_uploaded_workbook(data, limits, memory_bytes=memory_bytes, seconds=seconds)
    return WorkbookOut(
        instance=instance,
        summary={
            "name": instance["name"],
            "patients": len(instance.get("patients") or []),
            "in_progress": len(instance.get("in_progress") or []),
            "suites": len(instance.get("suites") or []),
            "operators": len(instance.get("operators") or []),
            "horizon_days": instance["horizon"]["days"],
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
