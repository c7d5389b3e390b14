"""Writing instances as workbooks, and the template: an .xlsx workbook gets a `lists` sheet
and drop-down lists on the columns that name shifts, skills, products, hospitals, suites and
material; the template is a small example instance written that way.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from models.instance import Instance
from models.io import load_instance
from models.workbook.files import Table, write_tables
from models.workbook.sheets import LISTS_SHEET, MATERIALS, Document
from models.workbook.to_tables import instance_tables


def write_instance(instance: Instance, target: str | Path) -> Path:
    """Write an instance as a workbook (.xlsx, with drop-downs) or a folder of CSV files."""
    tables = instance_tables(instance)
    if Path(target).suffix.lower() == ".xlsx":
        tables.append(_lists_table(instance))
    return write_tables(tables, target, decorate=_drop_downs)


def _lists_table(instance: Instance) -> Table:
    """The drop-down sources that have no sheet of their own: skills and materials."""
    skills = sorted(
        {skill for operator in instance.operators for skill in operator.skills}
        | {step.skill for product in instance.products for step in product.steps}
    )
    size = max(len(skills), len(MATERIALS))
    rows = [
        [skills[i] if i < len(skills) else None, MATERIALS[i] if i < len(MATERIALS) else None]
        for i in range(size)
    ]
    return Table(LISTS_SHEET, ["skill", "material"], rows)


DROP_DOWN_ROWS = 2000  # rows below the header that get the drop-downs (room to add entities)


def _drop_downs(workbook: Workbook) -> None:
    """Drop-down lists for shifts, skills, products, hospitals, suites and material."""
    sources = {
        "shift": "shifts!$A$2:$A$200",
        "skill": f"{LISTS_SHEET}!$A$2:$A$500",
        "material": f"{LISTS_SHEET}!$B$2:$B$3",
        "product": "products!$A$2:$A$500",
        "hospital": "hospitals!$A$2:$A$2000",
        "suite": "suites!$A$2:$A$500",
    }
    # (sheet, column, list, strict): cells that may hold several values only warn.
    wanted = [
        ("steps", "product", "product", True),
        ("steps", "skill", "skill", True),
        ("assays", "product", "product", True),
        ("operators", "skills", "skill", False),
        ("suite_downtime", "suite", "suite", True),
        ("patients", "hospital", "hospital", True),
        ("patients", "product", "product", True),
        ("patients", "material", "material", True),
        ("in_progress", "hospital", "hospital", True),
        ("in_progress", "product", "product", True),
        ("in_progress", "suite", "suite", True),
    ]
    for sheet_name, column, source, strict in wanted:
        if sheet_name not in workbook.sheetnames:
            continue
        sheet = workbook[sheet_name]
        headers = [cell.value for cell in sheet[1]]
        if column in headers:
            letter = get_column_letter(headers.index(column) + 1)
            _add_list(sheet, f"{letter}2:{letter}{DROP_DOWN_ROWS + 1}", sources[source], strict)
    if "roster" in workbook.sheetnames:
        roster = workbook["roster"]
        last = get_column_letter(max(roster.max_column, 2))
        _add_list(roster, f"B2:{last}{DROP_DOWN_ROWS + 1}", sources["shift"], strict=False)


def _add_list(sheet: Worksheet, cells: str, source: str, strict: bool) -> None:
    validation = DataValidation(
        type="list",
        formula1=f"={source}",
        allow_blank=True,
        showErrorMessage=True,
        errorStyle="stop" if strict else "warning",
    )
    validation.error = (
        "Choose a value from the list."
        if strict
        else "Not in the list (several values separated by commas are fine)."
    )
    validation.add(cells)
    sheet.add_data_validation(validation)


def example_instance() -> Instance:
    """A small valid instance with one example row in every table (the template's content)."""
    doc: Document = {
        "format": "cart-schedule-instance/1",
        "name": "example-week",
        "site": {
            "id": "SITE1",
            "timezone": "Europe/Brussels",
            "shifts": [{"id": "E", "start": "07:00", "hours": 8}],
            "max_starts_per_day": 4,
        },
        "horizon": {"start": "2026-11-30", "days": 42},
        "products": [
            {
                "id": "cd19-car",
                "fresh_shelf_life_hours": 72,
                "receipt_hours": 4,
                "manufacturing_hours": 192,
                "changeover_hours": 16,
                "suite_types": ["isolator"],
                "steps": [
                    {
                        "id": "activation",
                        "day_offset": 0,
                        "hours": 3,
                        "operators": 1,
                        "skill": "aseptic",
                    }
                ],
                "qc_assays": [
                    {
                        "id": "sterility",
                        "sample_day_offset": 8,
                        "duration_days": 7,
                        "max_wait_days": 1,
                    }
                ],
                "qp_release_days": 2,
            }
        ],
        "suites": [
            {
                "id": "S01",
                "type": "isolator",
                "positions": 4,
                "unavailable": [
                    {
                        "start": "2026-12-21T00:00",
                        "end": "2026-12-23T00:00",
                        "reason": "requalification",
                    }
                ],
            }
        ],
        "operators": [{"id": "OP01", "skills": ["aseptic"], "roster": []}],
        "qc_lab": {
            "working_days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
            "closed_dates": ["2026-12-25"],
            "capacity": {"sterility": 4},
        },
        "hospitals": [
            {
                "id": "H01",
                "name": "University Hospital",
                "transit_hours": 2,
                "collection_end": "13:00",
                "return_transit_days": 1,
                "apheresis_capacity": {"Mon": 2, "Tue": 2, "Wed": 2, "Thu": 2, "Fri": 2},
                "closed_dates": ["2026-12-25"],
                "booked_elsewhere": {"2026-12-01": 1},
            }
        ],
        "patients": [
            {
                "id": "P0001",
                "hospital": "H01",
                "product": "cd19-car",
                "weight": 1,
                "material": "fresh",
                "apheresis_window": {"earliest": "2026-12-01", "latest": "2026-12-04"},
                "infusion_window": {"earliest": "2026-12-20", "latest": "2027-01-08"},
                "previous": {"apheresis_date": "2026-12-02"},
                "locked": False,
                "collected_on": None,
            }
        ],
        "in_progress": [
            {
                "patient": "P0900",
                "product": "cd19-car",
                "hospital": "H01",
                "suite": "S01",
                "position": 1,
                "manufacturing_start": "2026-11-26T07:00",
                "infusion_window": {"earliest": "2026-12-10", "latest": "2026-12-31"},
            }
        ],
        "objective": {"order": ["scheduled_weight", "plan_changes", "wait_days"]},
    }
    start = date.fromisoformat(doc["horizon"]["start"])
    weekdays = [
        start + timedelta(days=n)
        for n in range(doc["horizon"]["days"])
        if (start + timedelta(days=n)).weekday() < 5
    ]
    for operator in doc["operators"]:
        operator["roster"] = [{"date": day.isoformat(), "shift": "E"} for day in weekdays]
    return load_instance(doc)


def write_template(target: str | Path) -> Path:
    """Write the empty-but-for-one-example workbook a coordinator starts from."""
    return write_instance(example_instance(), target)
