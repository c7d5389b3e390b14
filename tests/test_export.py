"""The plan workbook: patients, suites, operators, qc, unscheduled and kpis
sheets, in site-local time with typed cells."""

from __future__ import annotations

import sys
import types
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from typer.testing import CliRunner

from cli.main import app
from generator import generate_instance
from models import Instance, Schedule, load_instance, write_json
from scheduler.reporting.plan_workbook import basic_kpis, write_schedule
from tests.helpers import solve_generated

SHEETS = ["patients", "suites", "operators", "qc", "unscheduled", "kpis"]
runner = CliRunner()


@pytest.fixture(scope="module")
def downtime_plan() -> tuple[Instance, Schedule]:
    """xs with a suite closed for a while and two patients left out."""
    instance, schedule = solve_generated("xs", 1, "downtime", time_limit=10)
    assert schedule.unscheduled and any(suite.unavailable for suite in instance.suites)
    return instance, schedule


@pytest.fixture(scope="module")
def workbook(
    downtime_plan: tuple[Instance, Schedule], tmp_path_factory: pytest.TempPathFactory
) -> Any:
    target = tmp_path_factory.mktemp("plan") / "plan.xlsx"
    write_schedule(*downtime_plan, target)
    return load_workbook(target)


def rows(sheet: Worksheet) -> list[dict[str, Any]]:
    """The data rows of a sheet keyed by header."""
    header = [cell.value for cell in sheet[1]]
    return [
        dict(zip(header, line, strict=False))
        for line in sheet.iter_rows(min_row=2, values_only=True)
    ]


def cells(sheet: Worksheet, column: str) -> list[Any]:
    header = [cell.value for cell in sheet[1]]
    return [row[header.index(column)] for row in sheet.iter_rows(min_row=2)]


def test_plan_workbook_has_the_six_sheets(workbook: Any) -> None:
    assert workbook.sheetnames == SHEETS


def test_patients_sheet_lists_every_patient_with_typed_dates(
    workbook: Any, downtime_plan: tuple[Instance, Schedule]
) -> None:
    instance, schedule = downtime_plan
    by_id = {row["patient"]: row for row in rows(workbook["patients"])}
    assert set(by_id) == {p.id for p in instance.patients} | {
        b.patient for b in instance.in_progress
    }
    zone = ZoneInfo(instance.site.timezone)
    for assignment in schedule.assignments:
        row = by_id[assignment.patient]
        assert row["status"] == ("in progress" if assignment.in_progress else "scheduled")
        assert (row["suite"], row["position"]) == (assignment.suite, assignment.position)
        local_start = assignment.manufacturing_start.astimezone(zone).replace(tzinfo=None)
        assert row["manufacturing_start"] == local_start
        assert row["delivery_date"].date() == assignment.delivery_date
        if not assignment.in_progress:
            assert row["apheresis_date"].date() == assignment.apheresis_date
    for entry in schedule.unscheduled:
        row = by_id[entry.patient]
        assert row["status"] == "unscheduled" and row["suite"] is None
        assert row["reasons"].startswith(entry.reasons[0])
    sheet = workbook["patients"]
    assert all(cell.is_date for cell in cells(sheet, "release_date") if cell.value is not None)
    assert all(cell.data_type == "n" for cell in cells(sheet, "position") if cell.value is not None)
    assert all(
        cell.data_type == "n" for cell in cells(sheet, "wait_days") if cell.value is not None
    )


def test_suites_sheet_shows_each_position_by_day(
    workbook: Any, downtime_plan: tuple[Instance, Schedule]
) -> None:
    instance, schedule = downtime_plan
    sheet = workbook["suites"]
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["suite", "type", "position"]
    assert all(cell.is_date for cell in sheet[1][3:])
    days = [d.date() for d in header[3:]]
    assert days[0] == instance.horizon.start and len(days) == instance.horizon.days
    grid = {(row[0], row[2]): row[3:] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert len(grid) == sum(suite.positions for suite in instance.suites)
    for assignment in schedule.assignments:
        start = assignment.manufacturing_start.date()
        if start >= instance.horizon.start:
            assert (
                assignment.patient
                in grid[(assignment.suite, assignment.position)][days.index(start)]
            )
    closed = next(suite for suite in instance.suites if suite.unavailable)
    day = closed.unavailable[0].start.date()
    assert all(
        "downtime" in (grid[(closed.id, p)][days.index(day)] or "")
        for p in range(1, closed.positions + 1)
    )
    assert any("changeover" in (cell or "") for line in grid.values() for cell in line)


def test_operators_sheet_adds_step_hours_against_the_shift(
    workbook: Any, downtime_plan: tuple[Instance, Schedule]
) -> None:
    instance, schedule = downtime_plan
    expected: dict[tuple[date, str, str], float] = defaultdict(float)
    product_of = {p.id: p.product for p in instance.patients} | {
        b.patient: b.product for b in instance.in_progress
    }
    for assignment in schedule.assignments:
        steps = {s.id: s for s in instance.product_by_id[product_of[assignment.patient]].steps}
        for step in assignment.steps:
            for operator in step.operators:
                expected[(step.date, step.shift, operator)] += steps[step.step].hours
    found = {(r["date"].date(), r["shift"], r["operator"]): r for r in rows(workbook["operators"])}
    for key, hours in expected.items():
        assert found[key]["hours"] == pytest.approx(hours)
        assert found[key]["steps"]
    for row in found.values():
        assert row["shift_hours"] == instance.shift_by_id[row["shift"]].hours
        assert row["hours"] <= row["shift_hours"]
        assert row["load"] == pytest.approx(row["hours"] / row["shift_hours"])
    rostered_idle = [row for key, row in found.items() if key not in expected]
    assert rostered_idle and all(row["hours"] == 0 for row in rostered_idle)


def test_qc_sheet_counts_starts_against_capacity(
    workbook: Any, downtime_plan: tuple[Instance, Schedule]
) -> None:
    instance, schedule = downtime_plan
    sheet_rows = rows(workbook["qc"])
    horizon_end = instance.horizon.start + timedelta(days=instance.horizon.days)
    starts_in_horizon = sum(
        1
        for a in schedule.assignments
        for q in a.qc
        if instance.horizon.start <= q.start_date < horizon_end
    )
    assert sum(row["starts"] for row in sheet_rows) == starts_in_horizon > 0
    for row in sheet_rows:
        assert row["capacity"] == instance.qc_lab.capacity[row["assay"]]
        assert row["starts"] <= row["capacity"]
    assert all(cell.is_date for cell in cells(workbook["qc"], "date"))


def test_unscheduled_sheet_has_one_row_per_reason_with_its_rule(
    workbook: Any, downtime_plan: tuple[Instance, Schedule]
) -> None:
    _, schedule = downtime_plan
    sheet_rows = rows(workbook["unscheduled"])
    assert len(sheet_rows) == sum(len(entry.reasons) for entry in schedule.unscheduled)
    for row in sheet_rows:
        assert row["reason"].startswith(row["rule"])


def test_kpis_sheet_uses_compute_kpis_when_scheduler_kpis_exists(
    downtime_plan: tuple[Instance, Schedule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = types.ModuleType("scheduler.reporting.kpis")
    fake.compute_kpis = lambda instance, schedule: {
        "qc_load": {"overall": {"ratio": 0.25}},
        "patients": 6,
    }  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "scheduler.reporting.kpis", fake)
    write_schedule(*downtime_plan, tmp_path / "plan.xlsx")
    kpis = {row["kpi"]: row["value"] for row in rows(load_workbook(tmp_path / "plan.xlsx")["kpis"])}
    assert kpis == {"qc_load.overall.ratio": 0.25, "patients": 6}


def test_kpis_sheet_falls_back_to_counts_without_scheduler_kpis(
    downtime_plan: tuple[Instance, Schedule], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, schedule = downtime_plan
    monkeypatch.setitem(sys.modules, "scheduler.reporting.kpis", None)  # importing it now fails
    write_schedule(instance, schedule, tmp_path / "plan.xlsx")
    kpis = {row["kpi"]: row["value"] for row in rows(load_workbook(tmp_path / "plan.xlsx")["kpis"])}
    assert kpis == basic_kpis(instance, schedule)
    assert kpis["unscheduled_patients"] == len(schedule.unscheduled)
    assert kpis["scheduled_patients"] == len(instance.patients) - len(schedule.unscheduled)


def test_times_are_site_local_across_a_clock_change(tmp_path: Path) -> None:
    instance, schedule = solve_generated("xs", 1, "dst", time_limit=10)
    write_schedule(instance, schedule, tmp_path / "plan.xlsx")
    shift_starts = {shift.start_time for shift in instance.site.shifts}
    for row in rows(load_workbook(tmp_path / "plan.xlsx")["patients"]):
        if row["manufacturing_start"] is not None:
            assert isinstance(row["manufacturing_start"], datetime)
            assert row["manufacturing_start"].time() in shift_starts  # wall clock, not UTC


def test_csv_folder_has_one_file_per_sheet(
    downtime_plan: tuple[Instance, Schedule], tmp_path: Path
) -> None:
    write_schedule(*downtime_plan, tmp_path / "plan")
    assert sorted(p.stem for p in (tmp_path / "plan").iterdir()) == sorted(SHEETS)
    header = (tmp_path / "plan" / "suites.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith(f"suite,type,position,{downtime_plan[0].horizon.start.isoformat()},")


def test_cli_export_writes_the_plan_workbook(
    downtime_plan: tuple[Instance, Schedule], tmp_path: Path
) -> None:
    instance, schedule = downtime_plan
    write_json(instance, tmp_path / "instance.json")
    write_json(schedule, tmp_path / "schedule.json")
    result = runner.invoke(
        app,
        [
            "export",
            str(tmp_path / "schedule.json"),
            "--instance",
            str(tmp_path / "instance.json"),
            "-o",
            str(tmp_path / "plan.xlsx"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert load_workbook(tmp_path / "plan.xlsx").sheetnames == SHEETS


def test_cli_export_refuses_a_schedule_of_another_instance(
    downtime_plan: tuple[Instance, Schedule], tmp_path: Path
) -> None:
    _, schedule = downtime_plan
    write_json(load_instance(generate_instance("xs", 2, "normal")), tmp_path / "other.json")
    write_json(schedule, tmp_path / "schedule.json")
    result = runner.invoke(
        app,
        [
            "export",
            str(tmp_path / "schedule.json"),
            "--instance",
            str(tmp_path / "other.json"),
            "-o",
            str(tmp_path / "plan.xlsx"),
        ],
    )
    assert result.exit_code == 2
    assert "plans instance" in result.output
    assert not (tmp_path / "plan.xlsx").exists()


def test_cli_export_of_a_broken_schedule_is_bad_input(tmp_path: Path) -> None:
    write_json(load_instance(generate_instance("xs", 1, "normal")), tmp_path / "instance.json")
    (tmp_path / "schedule.json").write_text('{"format": "cart-schedule/1"}', encoding="utf-8")
    result = runner.invoke(
        app,
        [
            "export",
            str(tmp_path / "schedule.json"),
            "--instance",
            str(tmp_path / "instance.json"),
            "-o",
            str(tmp_path / "plan.xlsx"),
        ],
    )
    assert result.exit_code == 2
    assert "assignments" in result.output
