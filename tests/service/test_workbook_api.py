"""The coordinators' workbook, KPI and picture endpoints over the service."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest

from models import load_instance
from models.workbook import write_instance
from tests.service.support import HORIZON_START, booking_site, new_patient, solve_and_publish

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _workbook(instance_doc: dict[str, object], folder: Path) -> bytes:
    return write_instance(load_instance(instance_doc), folder / "plan.xlsx").read_bytes()


def _site() -> dict[str, object]:
    wednesday = HORIZON_START + timedelta(days=2)
    return booking_site(
        patients=[
            new_patient("H1", wednesday, wednesday + timedelta(days=2), id=f"P{i}")
            for i in range(3)
        ]
    )


def test_an_uploaded_workbook_becomes_the_instance_it_was_written_from(
    coordinator: httpx.Client, tmp_path: Path
) -> None:
    """Instance → workbook → upload gives back the same instance, with a summary for the page."""
    site = _site()
    answer = coordinator.post(
        "/v1/workbooks", files={"file": ("plan.xlsx", _workbook(site, tmp_path))}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["summary"]["patients"] == 3
    assert load_instance(answer.json()["instance"]) == load_instance(site)


def test_a_workbook_with_mistakes_is_422_naming_sheet_row_and_column(
    coordinator: httpx.Client, tmp_path: Path
) -> None:
    """An unknown hospital typed in the patients sheet is reported where it was typed."""
    book = openpyxl.load_workbook(io.BytesIO(_workbook(_site(), tmp_path)))
    patients = book["patients"]
    column = [cell.value for cell in patients[1]].index("hospital") + 1
    patients.cell(row=3, column=column, value="H99")
    buffer = io.BytesIO()
    book.save(buffer)
    answer = coordinator.post("/v1/workbooks", files={"file": ("plan.xlsx", buffer.getvalue())})
    assert answer.status_code == 422
    [problem] = [p for p in answer.json()["problems"] if "H99" in p["message"]]
    assert (problem["sheet"], problem["row"], problem["column"]) == ("patients", 3, "hospital")
    garbage = coordinator.post("/v1/workbooks", files={"file": ("plan.xlsx", b"not a workbook")})
    assert (
        garbage.status_code == 422 and garbage.json()["problems"]
    )  # says it cannot be read as a workbook


def test_a_solved_plan_has_kpis_a_gantt_figure_and_a_workbook(coordinator: httpx.Client) -> None:
    """What the page shows after a solve: labelled KPIs, the three-panel figure, the plan workbook to download."""
    plan_id = solve_and_publish(coordinator, _site())
    kpis = coordinator.get(f"/v1/plans/{plan_id}/kpis").json()
    assert kpis["kpis"]["scheduled"] == 3 and kpis["kpis"]["unscheduled"] == 0
    assert any("utilisation" in label.lower() for label, _ in kpis["table"])
    figure = coordinator.get(f"/v1/plans/{plan_id}/gantt").json()
    hover = " ".join(
        str(trace.get("hovertext") or trace.get("text") or "") for trace in figure["data"]
    )
    assert all(f"P{i}" in hover for i in range(3))
    workbook = coordinator.get(f"/v1/plans/{plan_id}/workbook")
    assert workbook.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheets = openpyxl.load_workbook(io.BytesIO(workbook.content)).sheetnames
    assert {"patients", "suites", "operators", "qc", "unscheduled", "kpis"} <= set(sheets)
    assert coordinator.get("/v1/plans/nope/kpis").status_code == 404
