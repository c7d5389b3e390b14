"""Instances as coordinator workbooks (docs/WORKBOOK.md).

One XLSX workbook, or a folder of CSV files, holds one table per sheet (file): site, shifts,
products, steps, assays, suites, suite_downtime, operators, roster, qc_capacity, hospitals,
patients, in_progress. Columns carry SPEC section 5 field names; the roster is a grid (one row
per operator, one column per date, cells holding shift ids).

Reading reports every problem at once, each named by sheet (or file), row and column, including
the reference and uniqueness problems that `load_instance` finds by JSON path. Writing an
instance and reading it back gives the same instance: a column (or optional table) is written
exactly when some entity has the field, and a present column means "the field is set".

Modules, each importing only those above it:

- `cells.py`: cell kinds, from a cell to a JSON value and back (`parse_*`, `Kind`, `TEXT`, ...).
- `sheets.py`: the tables and their columns (`TABLES`, `Col`, `Spec`, `SITE` ... `IN_PROGRESS`).
- `safety.py`: what reading a workbook may cost (`WorkbookLimits`) and the zip checks before
  opening one (`check_archive`).
- `files.py`: tables in .xlsx workbooks and CSV folders (`Table`, `write_tables`, `read_tables`;
  sheets read cell by cell as stored, never padded to their declared size).
- `to_tables.py`: instance -> tables (`instance_tables`, the roster grid).
- `from_tables.py`: tables -> instance document, problems by sheet, row and column
  (`document_from_tables`, `read_instance`, `WorkbookError`).
- `template.py`: writing instances with drop-downs, and the template (`write_instance`,
  `example_instance`, `write_template`).
- `sandbox.py`: reading an untrusted workbook in a child process limited in memory and time
  (`read_workbook_isolated`); not imported here, the service imports it.
"""

from __future__ import annotations

from models.workbook.files import RawTable, Table, Where, read_tables, write_tables
from models.workbook.from_tables import WorkbookError, document_from_tables, read_instance
from models.workbook.sheets import TABLES
from models.workbook.template import example_instance, write_instance, write_template
from models.workbook.to_tables import instance_tables

__all__ = [
    "TABLES",
    "RawTable",
    "Table",
    "Where",
    "WorkbookError",
    "document_from_tables",
    "example_instance",
    "instance_tables",
    "read_instance",
    "read_tables",
    "write_instance",
    "write_tables",
    "write_template",
]
