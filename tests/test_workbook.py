"""Planning workbooks: import with errors by sheet, row and column, the
template, and instance -> workbook -> instance round trips."""

from __future__ import annotations

import json
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from cli.main import app
from generator import generate_instance
from models import Instance, load_instance, to_json
from models.workbook import (
    TABLES,
    WorkbookError,
    example_instance,
    read_instance,
    write_instance,
    write_template,
)
from tests.helpers import TINY

ROOT = Path(__file__).resolve().parents[1]
GHENT_WEEK = ROOT / "instances" / "ghent-week.json"
TINY_FILES = sorted(TINY.glob("*.json"))

runner = CliRunner()


def as_json(instance: Instance) -> Any:
    """The exchange-format JSON of an instance, parsed (only the fields that were given)."""
    return json.loads(to_json(instance))


def problems_of(source: Path) -> list[str]:
    """The problem lines of a workbook that must not import."""
    with pytest.raises(WorkbookError) as caught:
        read_instance(source)
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture
def template(tmp_path: Path) -> Path:
    return write_template(tmp_path / "plan.xlsx")


def edit(workbook_path: Path, changes: dict[str, Any]) -> Path:
    """Set cells (`"patients!B2": "H99"`) of a workbook and save it."""
    workbook = load_workbook(workbook_path)
    for address, value in changes.items():
        sheet, cell = address.split("!")
        workbook[sheet][cell] = value
    workbook.save(workbook_path)
    return workbook_path


# --- round trip -------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["xlsx", "csv"])
@pytest.mark.parametrize("size", ["xs", "s", "m", "l", "xl"])
def test_generated_instance_survives_the_workbook_round_trip(
    tmp_path: Path, size: str, layout: str
) -> None:
    instance = load_instance(generate_instance(size, 1, "normal"))
    target = tmp_path / ("plan.xlsx" if layout == "xlsx" else "plan")
    write_instance(instance, target)
    assert as_json(read_instance(target)) == as_json(instance)


@pytest.mark.parametrize("scenario", ["dst", "holidays", "downtime"])
def test_mid_size_scenarios_survive_the_round_trip(tmp_path: Path, scenario: str) -> None:
    instance = load_instance(generate_instance("m", 1, scenario))
    write_instance(instance, tmp_path / "plan.xlsx")
    assert as_json(read_instance(tmp_path / "plan.xlsx")) == as_json(instance)


@pytest.mark.parametrize("layout", ["xlsx", "csv"])
def test_ghent_week_survives_the_round_trip(tmp_path: Path, layout: str) -> None:
    instance = load_instance(GHENT_WEEK)
    target = tmp_path / ("ghent.xlsx" if layout == "xlsx" else "ghent")
    write_instance(instance, target)
    back = read_instance(target)
    assert as_json(back) == as_json(instance)
    assert to_json(back) == to_json(instance)  # even the field order is kept


@pytest.mark.parametrize("path", TINY_FILES, ids=[p.stem for p in TINY_FILES])
def test_tiny_instances_survive_the_round_trip(tmp_path: Path, path: Path) -> None:
    instance = load_instance(path)
    write_instance(instance, tmp_path / "tiny.xlsx")
    assert as_json(read_instance(tmp_path / "tiny.xlsx")) == as_json(instance)


def test_absent_optional_fields_stay_absent(tmp_path: Path) -> None:
    # plan-changes.json gives no max_starts_per_day, no in_progress, no locked, no downtime
    original = as_json(load_instance(ROOT / "instances" / "tiny" / "plan-changes.json"))
    write_instance(
        load_instance(ROOT / "instances" / "tiny" / "plan-changes.json"), tmp_path / "p.xlsx"
    )
    back = as_json(read_instance(tmp_path / "p.xlsx"))
    assert "max_starts_per_day" not in back["site"]
    assert "in_progress" not in back and "objective" not in back
    assert all("locked" not in p and "collected_on" not in p for p in back["patients"])
    assert all("unavailable" not in s for s in back["suites"])
    assert back == original
    assert "in_progress" not in load_workbook(tmp_path / "p.xlsx").sheetnames


def test_null_collected_on_and_missing_infusion_end_round_trip(tmp_path: Path) -> None:
    document = generate_instance("xs", 1, "normal")
    nulls = [p["id"] for p in document["patients"] if p.get("collected_on", 0) is None]
    open_ended = [p["id"] for p in document["patients"] if "latest" not in p["infusion_window"]]
    assert nulls and open_ended
    write_instance(load_instance(document), tmp_path / "xs")
    back = {p["id"]: p for p in as_json(read_instance(tmp_path / "xs"))["patients"]}
    assert all(back[pid]["collected_on"] is None for pid in nulls)
    assert all("latest" not in back[pid]["infusion_window"] for pid in open_ended)


# --- what the sheets look like ----------------------------------------------------------------


def test_exported_workbook_has_one_sheet_per_table_with_spec_column_names(tmp_path: Path) -> None:
    write_instance(load_instance(GHENT_WEEK), tmp_path / "ghent.xlsx")
    workbook = load_workbook(tmp_path / "ghent.xlsx")
    assert [name for name in workbook.sheetnames if name in TABLES] == list(TABLES)
    headers = {
        name: [c.value for c in workbook[name][1]]
        for name in ("steps", "products", "hospitals", "patients")
    }
    assert headers["steps"] == ["product", "id", "day_offset", "hours", "operators", "skill"]
    assert headers["products"][:2] == ["id", "fresh_shelf_life_hours"]
    assert {"Mon", "Sun", "closed_dates", "booked_elsewhere"} <= set(headers["hospitals"])
    assert {"apheresis_earliest", "infusion_latest", "previous_apheresis_date"} <= set(
        headers["patients"]
    )
    patients = workbook["patients"]
    earliest = headers["patients"].index("apheresis_earliest") + 1
    assert patients.cell(2, earliest).is_date
    assert patients.cell(2, headers["patients"].index("weight") + 1).data_type == "n"


def test_roster_is_a_grid_of_shift_ids_by_operator_and_date(tmp_path: Path) -> None:
    instance = load_instance(GHENT_WEEK)
    write_instance(instance, tmp_path / "ghent.xlsx")
    roster = load_workbook(tmp_path / "ghent.xlsx")["roster"]
    assert roster["A1"].value == "operator"
    assert roster["B1"].is_date and roster["B1"].value.date() == instance.horizon.start
    assert roster.max_row == len(instance.operators) + 1
    first = instance.operators[0]
    column_of = {cell.value.date(): cell.column for cell in roster[1][1:]}
    for entry in first.roster:
        assert entry.shift in roster.cell(2, column_of[entry.date]).value


def test_booked_elsewhere_is_a_date_count_list(tmp_path: Path) -> None:
    instance = load_instance(GHENT_WEEK)
    hospital = next(h for h in instance.hospitals if len(h.booked_elsewhere) >= 1)
    write_instance(instance, tmp_path / "ghent")
    text = (tmp_path / "ghent" / "hospitals.csv").read_text(encoding="utf-8")
    day, count = next(iter(hospital.booked_elsewhere.items()))
    assert f"{day.isoformat()}:{count}" in text


# --- the template -----------------------------------------------------------------------------


def test_template_is_a_valid_instance_with_an_example_row_per_sheet(template: Path) -> None:
    instance = read_instance(template)
    assert as_json(instance) == as_json(example_instance())
    workbook = load_workbook(template)
    for name in TABLES:
        sheet = workbook[name]
        assert sheet.max_row >= 2, f"{name} has no example row"
        assert all(cell.value is not None for cell in sheet[1]), f"{name} has an empty header"


def test_template_has_drop_downs_for_shifts_skills_products_hospitals_and_material(
    template: Path,
) -> None:
    workbook = load_workbook(template)

    def lists(sheet: str) -> dict[str, str]:
        header = {cell.column_letter: cell.value for cell in workbook[sheet][1]}
        found = {}
        for validation in workbook[sheet].data_validations.dataValidation:
            assert validation.type == "list"
            first = str(validation.sqref).split(":")[0]
            column = "".join(ch for ch in first if ch.isalpha())
            found[header.get(column, column)] = validation.formula1
        return found

    patients = lists("patients")
    assert patients["hospital"].startswith("=hospitals!")
    assert patients["product"].startswith("=products!")
    assert patients["material"].startswith("=lists!")
    assert [c.value for c in workbook["lists"]["B"][1:3]] == ["fresh", "cryopreserved"]
    assert lists("steps")["skill"].startswith("=lists!")
    assert lists("operators")["skills"].startswith("=lists!")
    (shifts,) = workbook["roster"].data_validations.dataValidation
    assert str(shifts.sqref).startswith("B2:") and shifts.formula1 == "=shifts!$A$2:$A$200"


# --- errors by sheet, row and column ----------------------------------------------------------


def test_unknown_hospital_names_sheet_row_and_column(template: Path) -> None:
    edit(template, {"patients!B2": "H99"})
    assert problems_of(template) == ["patients row 2, column hospital: unknown hospital 'H99'"]


def test_every_error_is_reported_at_once(template: Path) -> None:
    edit(
        template,
        {
            "products!B2": "three days",  # fresh_shelf_life_hours
            "steps!F2": "asepticc",  # a skill no operator has
            "roster!C2": "N",  # no such shift
            "patients!F2": "2026-13-01",  # apheresis_earliest
            "patients!E2": "frozen",  # material
            "in_progress!A2": "P0001",  # also a new patient's id
            "hospitals!A3": "H01",  # duplicate hospital
            "hospitals!B3": "Elsewhere",
        },
    )
    problems = problems_of(template)
    assert problems == [
        "products row 2, column fresh_shelf_life_hours: 'three days' is not a number",
        "steps row 2, column skill: no operator has skill 'asepticc' (step 'activation')",
        "roster row 2, column 2026-12-01: unknown shift 'N' (site shifts: E)",
        "hospitals row 2, column id: duplicate hospital id 'H01'",
        "hospitals row 3, column id: duplicate hospital id 'H01'",
        "hospitals row 3, column transit_hours: a value is required",
        "hospitals row 3, column collection_end: a value is required",
        "hospitals row 3, column return_transit_days: a value is required",
        "patients row 2, column material: Input should be 'fresh' or 'cryopreserved' (got 'frozen')",
        "patients row 2, column apheresis_earliest: '2026-13-01' is not a date (YYYY-MM-DD)",
        "in_progress row 2, column patient: 'P0001' is also a new patient's id",
    ]


def test_rows_of_child_tables_must_name_a_known_owner(template: Path) -> None:
    edit(template, {"steps!A2": "cd20-car", "suite_downtime!A2": "S09", "roster!A2": "OP99"})
    problems = problems_of(template)
    assert "steps row 2, column product: unknown product 'cd20-car'" in problems
    assert "suite_downtime row 2, column suite: unknown suite 'S09'" in problems
    assert "roster row 2, column operator: unknown operator 'OP99'" in problems


def test_missing_and_unknown_columns_and_sheets_are_reported(tmp_path: Path) -> None:
    workbook_path = write_template(tmp_path / "plan.xlsx")
    workbook = load_workbook(workbook_path)
    workbook["patients"]["B1"] = "hospitl"
    del workbook["qc_capacity"]
    workbook.save(workbook_path)
    problems = problems_of(workbook_path)
    assert "qc_capacity: sheet (or CSV file) is missing" in problems
    assert "patients: missing column 'hospital'" in problems
    assert any(p.startswith("patients row 1, column hospitl: unknown column") for p in problems)
    # the missing column is reported once, not once per row
    assert not any("column hospital:" in p for p in problems)


def test_a_missing_sheet_is_one_problem_not_one_per_reference(template: Path) -> None:
    workbook = load_workbook(template)
    del workbook["hospitals"]
    del workbook["operators"]
    workbook.save(template)
    assert problems_of(template) == [
        "operators: sheet (or CSV file) is missing",
        "hospitals: sheet (or CSV file) is missing",
    ]


def test_csv_folder_errors_name_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_instance(example_instance(), folder)
    patients = (folder / "patients.csv").read_text(encoding="utf-8").replace(",H01,", ",H99,")
    (folder / "patients.csv").write_text(patients, encoding="utf-8")
    assert problems_of(folder) == ["patients.csv row 2, column hospital: unknown hospital 'H99'"]


def test_hand_typed_csv_values_are_understood(tmp_path: Path) -> None:
    folder = tmp_path / "plan"
    write_instance(example_instance(), folder)
    # A coordinator's spelling: headers in words, yes/no, H:MM, date and time with a space.
    patients = (folder / "patients.csv").read_text(encoding="utf-8")
    header, row = patients.splitlines()[:2]
    header = header.replace("apheresis_earliest", "Apheresis earliest").replace("locked", "Locked")
    (folder / "patients.csv").write_text(
        f"{header}\n{row.replace(',false,', ',yes,')}\n", encoding="utf-8"
    )
    hospitals = (folder / "hospitals.csv").read_text(encoding="utf-8").replace(",13:00,", ",9:30,")
    (folder / "hospitals.csv").write_text(hospitals, encoding="utf-8")
    batches = (
        (folder / "in_progress.csv")
        .read_text(encoding="utf-8")
        .replace("2026-11-26T07:00", "2026-11-26 07:00")
    )
    (folder / "in_progress.csv").write_text(batches, encoding="utf-8")
    instance = read_instance(folder)
    assert instance.patients[0].locked is True
    assert instance.patients[0].apheresis_window.earliest == date(2026, 12, 1)
    assert instance.hospitals[0].collection_end == "09:30"
    assert instance.in_progress[0].manufacturing_start == datetime(2026, 11, 26, 7, 0)


def test_excel_typed_times_and_numbers_in_id_columns_are_understood(template: Path) -> None:
    edit(template, {"shifts!B2": time(6, 30), "patients!A2": 1001})
    instance = read_instance(template)
    assert instance.site.shifts[0].start == "06:30"
    assert instance.patients[0].id == "1001"


# --- command line -----------------------------------------------------------------------------


def test_cli_template_then_import_writes_the_instance(tmp_path: Path) -> None:
    result = runner.invoke(app, ["template", "-o", str(tmp_path / "plan.xlsx")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["import", str(tmp_path / "plan.xlsx"), "-o", str(tmp_path / "plan.json")]
    )
    assert result.exit_code == 0, result.output
    assert load_instance(tmp_path / "plan.json").name == "example-week"


def test_cli_import_of_a_bad_workbook_prints_every_problem_and_writes_nothing(
    template: Path, tmp_path: Path
) -> None:
    edit(template, {"patients!B2": "H99", "patients!F2": "soon"})
    output = tmp_path / "plan.json"
    result = runner.invoke(app, ["import", str(template), "-o", str(output)])
    assert result.exit_code == 2
    assert "patients row 2, column hospital: unknown hospital 'H99'" in result.output
    assert (
        "patients row 2, column apheresis_earliest: 'soon' is not a date (YYYY-MM-DD)"
        in result.output
    )
    assert "2 problems" in result.output
    assert not output.exists()


def test_cli_import_of_something_that_is_not_a_workbook_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "plan.xlsx").write_text("not a workbook", encoding="utf-8")
    result = runner.invoke(
        app, ["import", str(tmp_path / "plan.xlsx"), "-o", str(tmp_path / "out.json")]
    )
    assert result.exit_code == 2
    assert "cannot read the workbook" in result.output


def test_cli_export_instance_to_csv_folder_and_back(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export-instance", str(GHENT_WEEK), "-o", str(tmp_path / "ghent")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "ghent" / "roster.csv").exists()
    result = runner.invoke(
        app, ["import", str(tmp_path / "ghent"), "-o", str(tmp_path / "back.json")]
    )
    assert result.exit_code == 0, result.output
    assert as_json(load_instance(tmp_path / "back.json")) == as_json(load_instance(GHENT_WEEK))


def test_cli_export_instance_refuses_a_bad_instance(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"format": "cart-schedule-instance/1"}', encoding="utf-8")
    result = runner.invoke(
        app, ["export-instance", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.xlsx")]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "x.xlsx").exists()
