"""Instances as coordinator workbooks (docs/WORKBOOK.md).

One XLSX workbook, or a folder of CSV files, holds one table per sheet (file): site, shifts,
products, steps, assays, suites, suite_downtime, operators, roster, qc_capacity, hospitals,
patients, in_progress. Columns carry SPEC section 5 field names; the roster is a grid (one row
per operator, one column per date, cells holding shift ids).

Reading reports every problem at once, each named by sheet (or file), row and column, including
the reference and uniqueness problems that `load_instance` finds by JSON path. Writing an
instance and reading it back gives the same instance: a column (or optional table) is written
exactly when some entity has the field, and a present column means "the field is set".
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]
from openpyxl.worksheet.datavalidation import DataValidation  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from models.checks import Problem
from models.instance import Instance
from models.io import InputError, InstanceError, load_instance, to_json
from models.timeutil import WEEKDAYS

TABLES: tuple[str, ...] = (
    "site",
    "shifts",
    "products",
    "steps",
    "assays",
    "suites",
    "suite_downtime",
    "operators",
    "roster",
    "qc_capacity",
    "hospitals",
    "patients",
    "in_progress",
)
# Tables whose absence means "this list is not given" (a present table sets it, maybe empty).
OPTIONAL_TABLES = frozenset(
    {"steps", "assays", "suite_downtime", "roster", "patients", "in_progress"}
)
LISTS_SHEET = "lists"  # the drop-down sources of the template; never read back
IGNORED_COLUMNS = frozenset({"notes"})
MATERIALS = ("fresh", "cryopreserved")
# Which table holds the fields under each top-level JSON key (for problems with no row).
TABLE_OF_KEY = {
    "format": "site",
    "name": "site",
    "site": "site",
    "horizon": "site",
    "objective": "site",
    "products": "products",
    "suites": "suites",
    "operators": "operators",
    "qc_lab": "qc_capacity",
    "hospitals": "hospitals",
    "patients": "patients",
    "in_progress": "in_progress",
}

Document = dict[str, Any]


class WorkbookError(InputError):
    """A workbook (or CSV folder) cannot become an instance; every problem names sheet, row, column."""


# --- tables as written ------------------------------------------------------------------------


@dataclass
class Table:
    """One sheet (or CSV file): header cells and rows of typed cell values."""

    name: str
    columns: list[Any]
    rows: list[list[Any]] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)  # column name -> Excel number format


def write_tables(
    tables: list[Table], target: str | Path, decorate: Callable[[Workbook], None] | None = None
) -> Path:
    """Write tables as an .xlsx workbook, or as CSV files in a folder (any other target)."""
    target = Path(target)
    if target.suffix.lower() == ".xlsx":
        workbook = Workbook()
        workbook.remove(workbook.active)
        for table in tables:
            _write_sheet(workbook.create_sheet(table.name), table)
        if decorate is not None:
            decorate(workbook)
        workbook.save(target)
    else:
        target.mkdir(exist_ok=True)
        for table in tables:
            frame = pd.DataFrame(
                [[_csv_text(value) for value in row] for row in table.rows],
                columns=[_csv_text(column) for column in table.columns],
            )
            frame.to_csv(target / f"{table.name}.csv", index=False)
    return target


def _excel_format(value: Any) -> str | None:
    """The number format that shows a date, date-time or clock time as one."""
    if isinstance(value, datetime):
        return "yyyy-mm-dd hh:mm"
    if isinstance(value, date):
        return "yyyy-mm-dd"
    if isinstance(value, time):
        return "hh:mm"
    return None


def _write_sheet(sheet: Worksheet, table: Table) -> None:
    """Header in bold and frozen, typed cells, readable column widths."""
    sheet.append(table.columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.number_format = _excel_format(cell.value) or cell.number_format
    for row in table.rows:
        sheet.append(row)
    for index, column in enumerate(table.columns, start=1):
        letter = get_column_letter(index)
        custom = table.formats.get(str(column))
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            shown = custom or _excel_format(cell.value)
            if shown is not None and cell.value is not None:
                cell.number_format = shown
        width = max(
            [len(_csv_text(column))] + [len(_csv_text(row[index - 1])) for row in table.rows[:200]]
        )
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "B2"


def _csv_text(value: Any) -> str:
    """A cell value as CSV text (dates ISO, booleans true/false, whole numbers without .0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S" if value.second else "%Y-%m-%dT%H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- cell kinds: from a cell to JSON and back -------------------------------------------------


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


def _whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def parse_text(value: Any) -> str:
    """Any cell as text; a number typed into an id column is its digits (`12`, not `12.0`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(_whole(value))
    if isinstance(value, datetime):
        return _csv_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def parse_number(value: Any) -> int | float:
    """A number cell (or text that reads as one)."""
    if isinstance(value, bool):
        raise ValueError(f"{parse_text(value)!r} is not a number")
    if isinstance(value, (int, float)):
        return _whole(value)
    text = str(value).strip().replace(",", ".") if isinstance(value, str) else ""
    try:
        number = float(text)
    except ValueError:
        raise ValueError(f"{parse_text(value)!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{text!r} is not a number")
    return _whole(number)


def parse_integer(value: Any) -> int:
    """A whole-number cell."""
    number = parse_number(value)
    if not isinstance(number, int):
        raise ValueError(f"{number!r} is not a whole number")
    return number


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0, 0):
            raise ValueError(f"{_csv_text(value)!r} is a date-time, expected a date")
        return value.date()
    if isinstance(value, date):
        return value
    text = parse_text(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)")


def parse_date(value: Any) -> str:
    """A date cell (a real date, or YYYY-MM-DD text)."""
    return _as_date(value).isoformat()


def parse_datetime(value: Any) -> str:
    """A local date-time cell (a real date-time, or `YYYY-MM-DD HH:MM` text)."""
    if isinstance(value, datetime):
        # Excel stores date-times as day fractions: round the float noise to whole seconds.
        moment = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")
    text = parse_text(value)
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2}))?", text)
    if match:
        day, hours, minutes, seconds = match.groups()
        try:
            moment = datetime.combine(
                date.fromisoformat(day), time(int(hours), int(minutes), int(seconds or 0))
            )
        except ValueError:
            pass
        else:
            return parse_datetime(moment)
    raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)")


def parse_clock(value: Any) -> str:
    """A clock-time cell (a real time, or HH:MM text)."""
    if isinstance(value, datetime):
        value = value.time()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    text = parse_text(value)
    match = re.fullmatch(r"(\d{1,2}):(\d{2})(?::00)?", text)
    if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
        return f"{int(match.group(1)):02d}:{match.group(2)}"
    raise ValueError(f"{text!r} is not a clock time (HH:MM)")


_TRUE, _FALSE = {"true", "yes", "y", "x", "1"}, {"false", "no", "n", "0"}


def parse_bool(value: Any) -> bool:
    """A yes/no cell (TRUE/FALSE, yes/no, 1/0)."""
    if isinstance(value, bool):
        return value
    text = parse_text(value).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{parse_text(value)!r} is not true or false")


def _items(value: Any) -> list[str]:
    """The entries of a comma-separated list cell."""
    if isinstance(value, (date, datetime)):
        return [parse_text(value)]
    return [item.strip() for item in re.split(r"[,;\n]", parse_text(value)) if item.strip()]


def parse_ids(value: Any) -> list[str]:
    """A comma-separated list of identifiers."""
    return _items(value)


def parse_dates(value: Any) -> list[str]:
    """A comma-separated list of dates."""
    if isinstance(value, (date, datetime)):
        return [parse_date(value)]
    return [parse_date(item) for item in _items(value)]


def parse_weekday(value: Any) -> str:
    """A weekday name (`Mon` … `Sun`, any case, full names too)."""
    text = parse_text(value)
    key = text[:3].capitalize()
    if key in WEEKDAYS and text.lower() in (key.lower(), _full_weekday(key)):
        return key
    raise ValueError(f"{text!r} is not a weekday (Mon, Tue, Wed, Thu, Fri, Sat, Sun)")


def _full_weekday(key: str) -> str:
    names = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return names[WEEKDAYS.index(key)]


def parse_weekdays(value: Any) -> list[str]:
    """A comma-separated list of weekdays."""
    return [parse_weekday(item) for item in _items(value)]


def parse_date_counts(value: Any) -> dict[str, int]:
    """A `date:count` list (`2026-12-11:2, 2026-12-14:1`), as for booked_elsewhere."""
    counts: dict[str, int] = {}
    for item in _items(value):
        day, separator, count = item.rpartition(":")
        if not separator:
            raise ValueError(f"{item!r} is not date:count (e.g. 2026-12-11:2)")
        counts[parse_date(day.strip())] = parse_integer(count.strip())
    return counts


def _date_cell(text: Any) -> Any:
    return date.fromisoformat(text) if isinstance(text, str) else text


def _datetime_cell(text: Any) -> Any:
    return datetime.fromisoformat(text) if isinstance(text, str) else text


def _clock_cell(text: Any) -> Any:
    return datetime.strptime(text, "%H:%M").time() if isinstance(text, str) else text


def _list_cell(items: Any) -> Any:
    return ", ".join(str(item) for item in items) if isinstance(items, list) else items


def _counts_cell(counts: Any) -> Any:
    return (
        ", ".join(f"{day}:{n}" for day, n in counts.items()) if isinstance(counts, dict) else counts
    )


@dataclass(frozen=True)
class Kind:
    """How a column's cells become JSON values (`parse`) and JSON values become cells (`cell`)."""

    parse: Callable[[Any], Any]
    cell: Callable[[Any], Any] = lambda value: value


TEXT = Kind(parse_text)
NUMBER = Kind(parse_number)
INTEGER = Kind(parse_integer)
BOOL = Kind(parse_bool)
DATE = Kind(parse_date, _date_cell)
DATETIME = Kind(parse_datetime, _datetime_cell)
CLOCK = Kind(parse_clock, _clock_cell)
IDS = Kind(parse_ids, _list_cell)
DATES = Kind(parse_dates, _list_cell)
WEEKDAY_LIST = Kind(parse_weekdays, _list_cell)
DATE_COUNTS = Kind(parse_date_counts, _counts_cell)

# What a present column with an empty cell means: leave the field out, null, or an empty list/map.
OMIT, NULL, EMPTY_LIST, EMPTY_MAP = "omit", "null", "list", "map"


@dataclass(frozen=True)
class Col:
    """A column: its header, the JSON path it fills inside its entity, and how."""

    name: str
    path: tuple[str, ...]
    kind: Kind
    required: bool = False
    empty: str = OMIT


@dataclass(frozen=True)
class Spec:
    """A table of entities: its columns, and for child tables the column naming the owner."""

    name: str
    columns: tuple[Col, ...]
    owner: str | None = None  # e.g. steps.product names the product that owns the step


def _col(
    name: str,
    kind: Kind,
    required: bool = True,
    path: tuple[str, ...] | None = None,
    empty: str = OMIT,
) -> Col:
    return Col(name, path or (name,), kind, required, empty)


SITE = Spec(
    "site",
    (
        _col("plan_name", TEXT, path=("name",)),
        _col("id", TEXT, path=("site", "id")),
        _col("timezone", TEXT, path=("site", "timezone")),
        _col("max_starts_per_day", INTEGER, False, ("site", "max_starts_per_day")),
        _col("horizon_start", DATE, path=("horizon", "start")),
        _col("horizon_days", INTEGER, path=("horizon", "days")),
        _col("qc_working_days", WEEKDAY_LIST, path=("qc_lab", "working_days"), empty=EMPTY_LIST),
        _col("qc_closed_dates", DATES, False, ("qc_lab", "closed_dates"), EMPTY_LIST),
        _col("objective_order", IDS, False, ("objective", "order")),
    ),
)
SHIFTS = Spec("shifts", (_col("id", TEXT), _col("start", CLOCK), _col("hours", NUMBER)))
PRODUCTS = Spec(
    "products",
    (
        _col("id", TEXT),
        _col("fresh_shelf_life_hours", NUMBER),
        _col("receipt_hours", NUMBER),
        _col("manufacturing_hours", NUMBER),
        _col("changeover_hours", NUMBER),
        _col("suite_types", IDS, empty=EMPTY_LIST),
        _col("qp_release_days", INTEGER),
    ),
)
STEPS = Spec(
    "steps",
    (
        _col("id", TEXT),
        _col("day_offset", INTEGER),
        _col("hours", NUMBER),
        _col("operators", INTEGER),
        _col("skill", TEXT),
    ),
    owner="product",
)
ASSAYS = Spec(
    "assays",
    (
        _col("id", TEXT),
        _col("sample_day_offset", INTEGER),
        _col("duration_days", INTEGER),
        _col("max_wait_days", INTEGER),
    ),
    owner="product",
)
SUITES = Spec("suites", (_col("id", TEXT), _col("type", TEXT), _col("positions", INTEGER)))
SUITE_DOWNTIME = Spec(
    "suite_downtime",
    (
        _col("start", DATETIME),
        _col("end", DATETIME),
        _col("reason", TEXT, False),
    ),
    owner="suite",
)
OPERATORS = Spec("operators", (_col("id", TEXT), _col("skills", IDS, False, empty=EMPTY_LIST)))
QC_CAPACITY_COLUMNS = ("assay", "capacity")
HOSPITALS = Spec(
    "hospitals",
    (
        _col("id", TEXT),
        _col("name", TEXT),
        _col("transit_hours", NUMBER),
        _col("collection_end", CLOCK),
        _col("return_transit_days", INTEGER),
        *(_col(day, INTEGER, False, ("apheresis_capacity", day)) for day in WEEKDAYS),
        _col("closed_dates", DATES, False, empty=EMPTY_LIST),
        _col("booked_elsewhere", DATE_COUNTS, False, empty=EMPTY_MAP),
    ),
)
PATIENTS = Spec(
    "patients",
    (
        _col("id", TEXT),
        _col("hospital", TEXT),
        _col("product", TEXT),
        _col("weight", NUMBER, False),
        _col("material", TEXT),
        _col("apheresis_earliest", DATE, path=("apheresis_window", "earliest")),
        _col("apheresis_latest", DATE, path=("apheresis_window", "latest")),
        _col("infusion_earliest", DATE, path=("infusion_window", "earliest")),
        _col("infusion_latest", DATE, False, ("infusion_window", "latest")),
        _col("previous_apheresis_date", DATE, False, ("previous", "apheresis_date")),
        _col("locked", BOOL, False),
        _col("collected_on", DATE, False, empty=NULL),
    ),
)
IN_PROGRESS = Spec(
    "in_progress",
    (
        _col("patient", TEXT),
        _col("product", TEXT),
        _col("hospital", TEXT),
        _col("suite", TEXT),
        _col("position", INTEGER),
        _col("manufacturing_start", DATETIME),
        _col("infusion_earliest", DATE, False, ("infusion_window", "earliest")),
        _col("infusion_latest", DATE, False, ("infusion_window", "latest")),
    ),
)
SPECS = {
    spec.name: spec
    for spec in (
        SITE,
        SHIFTS,
        PRODUCTS,
        STEPS,
        ASSAYS,
        SUITES,
        SUITE_DOWNTIME,
        OPERATORS,
        HOSPITALS,
        PATIENTS,
        IN_PROGRESS,
    )
}


# Reference problems that only repeat that a referenced sheet is missing: message start -> sheet.
REFERENCED_TABLE = {
    "unknown hospital": "hospitals",
    "unknown product": "products",
    "unknown suite": "suites",
    "unknown shift": "shifts",
    "no operator has skill": "operators",
    "no suite has type": "suites",
    "no capacity given": "qc_capacity",
}


def _header_key(name: Any) -> str:
    """Headers match whatever the case and spacing (`Apheresis earliest` is apheresis_earliest)."""
    return re.sub(r"[\s\-]+", "_", parse_text(name).strip().lower())


# --- instance -> tables -----------------------------------------------------------------------

_MISSING = object()


def _get(entity: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(entity, dict) or key not in entity:
            return _MISSING
        entity = entity[key]
    return entity


def _entity_table(spec: Spec, entities: list[tuple[str | None, Document]]) -> Table:
    """Rows of entities (with their owner's id for child tables); a column only if some entity has it."""
    weekdays_given = spec is HOSPITALS and any("apheresis_capacity" in e for _, e in entities)
    columns = [
        col
        for col in spec.columns
        if col.required
        or any(_get(e, col.path) is not _MISSING for _, e in entities)
        or (weekdays_given and col.path[0] == "apheresis_capacity")
    ]
    table = Table(spec.name, ([spec.owner] if spec.owner else []) + [col.name for col in columns])
    for owner, entity in entities:
        cells = [_cell(col, _get(entity, col.path)) for col in columns]
        table.rows.append(([owner] if spec.owner else []) + cells)
    return table


def _cell(col: Col, value: Any) -> Any:
    if value is _MISSING or value is None:
        return None
    return col.kind.cell(value)


def instance_tables(instance: Instance) -> list[Table]:
    """The instance as workbook tables, in sheet order."""
    doc: Document = json.loads(to_json(instance))
    products, suites, operators = doc["products"], doc["suites"], doc["operators"]
    tables = [
        _entity_table(SITE, [(None, doc)]),
        _entity_table(SHIFTS, [(None, shift) for shift in doc["site"]["shifts"]]),
        _entity_table(PRODUCTS, [(None, product) for product in products]),
    ]
    if any("steps" in product for product in products):
        tables.append(
            _entity_table(STEPS, [(p["id"], s) for p in products for s in p.get("steps", [])])
        )
    if any("qc_assays" in product for product in products):
        tables.append(
            _entity_table(ASSAYS, [(p["id"], a) for p in products for a in p.get("qc_assays", [])])
        )
    tables.append(_entity_table(SUITES, [(None, suite) for suite in suites]))
    if any("unavailable" in suite for suite in suites):
        tables.append(
            _entity_table(
                SUITE_DOWNTIME,
                [(s["id"], period) for s in suites for period in s.get("unavailable", [])],
            )
        )
    tables.append(_entity_table(OPERATORS, [(None, operator) for operator in operators]))
    if any("roster" in operator for operator in operators):
        tables.append(_roster_table(doc))
    capacity = doc["qc_lab"]["capacity"]
    tables.append(
        Table("qc_capacity", list(QC_CAPACITY_COLUMNS), [[a, n] for a, n in capacity.items()])
    )
    tables.append(_entity_table(HOSPITALS, [(None, hospital) for hospital in doc["hospitals"]]))
    if "patients" in doc:
        tables.append(_entity_table(PATIENTS, [(None, patient) for patient in doc["patients"]]))
    if "in_progress" in doc:
        tables.append(_entity_table(IN_PROGRESS, [(None, batch) for batch in doc["in_progress"]]))
    return tables


def _roster_table(doc: Document) -> Table:
    """The roster grid: every horizon date (and any other rostered date) as a column."""
    start = date.fromisoformat(doc["horizon"]["start"])
    days = {start + timedelta(days=offset) for offset in range(doc["horizon"]["days"])}
    for operator in doc["operators"]:
        days |= {date.fromisoformat(entry["date"]) for entry in operator.get("roster", [])}
    columns = sorted(days)
    table = Table("roster", ["operator", *columns])
    for operator in doc["operators"]:
        shifts: dict[str, list[str]] = {}
        for entry in operator.get("roster", []):
            shifts.setdefault(entry["date"], []).append(entry["shift"])
        table.rows.append(
            [operator["id"]]
            + [", ".join(shifts.get(day.isoformat(), [])) or None for day in columns]
        )
    return table


# --- reading tables ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Where:
    """A place in a workbook: sheet (or CSV file), spreadsheet row number, column header."""

    table: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        text = self.table if self.row is None else f"{self.table} row {self.row}"
        if self.column is not None:
            text += f", column {self.column}" if self.row is not None else f" column {self.column}"
        return text


@dataclass
class RawTable:
    """A table as read: where it came from, its header cells and its non-empty rows by row number."""

    name: str
    label: str
    header: list[Any]
    rows: list[tuple[int, list[Any]]]

    def where(self, row: int | None = None, column: str | None = None) -> Where:
        """A place in this table."""
        return Where(self.label, row, column)


def _raw_table(name: str, label: str, grid: Iterable[Iterable[Any]]) -> RawTable:
    """Header (row 1) and the non-empty rows of a grid of cells."""
    lines = [list(line) for line in grid]
    header = [None if _is_empty(v) else v for v in lines[0]] if lines else []
    while header and header[-1] is None:
        header.pop()
    rows = [
        (number, [None if _is_empty(v) else v for v in line])
        for number, line in enumerate(lines[1:], start=2)
        if any(not _is_empty(v) for v in line)
    ]
    return RawTable(name, label, header, rows)


def read_tables(source: str | Path) -> tuple[dict[str, RawTable], list[Problem]]:
    """The known tables of an .xlsx workbook or a CSV folder, and any problem reading them."""
    path = Path(source)
    if path.is_dir():
        return _read_csv_folder(path)
    if not path.exists():
        return {}, [Problem(str(path), "no such file or folder")]
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}, [Problem(str(path), "expected an .xlsx workbook or a folder of CSV files")]
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, InvalidFileException, KeyError, ValueError) as exc:
        return {}, [Problem(str(path), f"cannot read the workbook: {exc}")]
    tables: dict[str, RawTable] = {}
    try:
        sheets = {_header_key(name): name for name in workbook.sheetnames}
        for name in TABLES:
            if name in sheets:
                sheet = workbook[sheets[name]]
                tables[name] = _raw_table(
                    name, sheets[name], sheet.iter_rows(min_row=1, values_only=True)
                )
    finally:
        workbook.close()
    return tables, []


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    files = {
        _header_key(file.stem): file for file in folder.iterdir() if file.suffix.lower() == ".csv"
    }
    for name in TABLES:
        file = files.get(name)
        if file is None:
            continue
        try:
            # Every cell as text, nothing guessed: "" stays empty, "NA" stays "NA"; utf-8-sig
            # drops the byte-order mark that spreadsheet programs write.
            frame = pd.read_csv(
                file,
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                encoding="utf-8-sig",
            )
        except pd.errors.EmptyDataError:
            frame = pd.DataFrame()
        except (pd.errors.ParserError, UnicodeDecodeError, OSError) as exc:
            problems.append(Problem(file.name, f"cannot read the CSV file: {exc}".strip()))
            continue
        tables[name] = _raw_table(name, file.name, frame.itertuples(index=False, name=None))
    return tables, problems


# --- tables -> instance document --------------------------------------------------------------


def _set(target: Document, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _json_path(prefix: str, path: tuple[str, ...]) -> str:
    return ".".join(part for part in (prefix, *path) if part)


class _Builder:
    """Turns raw tables into an instance document, remembering where every field came from."""

    def __init__(self, tables: dict[str, RawTable]) -> None:
        self.tables = tables
        self.problems: list[tuple[Where, str]] = []
        self.origins: dict[str, Where] = {}
        self.failed: set[Where] = set()  # cells (and missing columns) already reported
        self.columns: dict[str, dict[str, int]] = {}  # table label -> column positions by name

    def report(self, where: Where, message: str) -> None:
        """Record one problem."""
        self.problems.append((where, message))

    def header(self, table: RawTable, spec: Spec) -> dict[str, int]:
        """Column positions by name; unknown, duplicate and missing required columns are reported."""
        known = {_header_key(col.name): col.name for col in spec.columns}
        if spec.owner:
            known[spec.owner] = spec.owner
        positions: dict[str, int] = {}
        for index, cell in enumerate(table.header):
            if cell is None:
                if any(index < len(line) and line[index] is not None for _, line in table.rows):
                    self.report(
                        table.where(1, get_column_letter(index + 1)),
                        "values in a column without a header",
                    )
                continue
            key = _header_key(cell)
            if key in IGNORED_COLUMNS:
                continue
            name = known.get(key)
            if name is None:
                self.report(
                    table.where(1, parse_text(cell)),
                    f"unknown column (columns: {', '.join(known.values())})",
                )
            elif name in positions:
                self.report(table.where(1, name), "column appears twice")
            else:
                positions[name] = index
        required = [spec.owner] if spec.owner else []
        required += [col.name for col in spec.columns if col.required]
        for name in required:
            if name not in positions:
                self.report(table.where(), f"missing column '{name}'")
                self.failed.add(table.where(None, name))
        self.columns[table.label] = positions
        return positions

    def value(
        self,
        table: RawTable,
        number: int,
        line: list[Any],
        positions: dict[str, int],
        column: str,
        kind: Kind,
    ) -> Any:
        """The parsed cell, or None when it is empty or wrong (a wrong cell is reported)."""
        index = positions.get(column)
        raw = line[index] if index is not None and index < len(line) else None
        if raw is None:
            return None
        where = table.where(number, column)
        try:
            return kind.parse(raw)
        except ValueError as exc:
            self.report(where, str(exc))
            self.failed.add(where)
            return None

    def entity(
        self,
        table: RawTable,
        spec: Spec,
        number: int,
        line: list[Any],
        positions: dict[str, int],
        prefix: str,
        target: Document,
    ) -> None:
        """Fill one entity (at JSON path `prefix`) from one row."""
        self.origins[prefix] = table.where(number)
        for col in spec.columns:
            path = _json_path(prefix, col.path)
            self.origins[path] = table.where(number, col.name)
            for depth in range(1, len(col.path)):
                # A missing window (say) is reported at its first column.
                self.origins.setdefault(
                    _json_path(prefix, col.path[:depth]), table.where(number, col.name)
                )
            value = self.value(table, number, line, positions, col.name, col.kind)
            if value is not None:
                _set(target, col.path, value)
            elif col.name in positions and table.where(number, col.name) not in self.failed:
                empty = {NULL: None, EMPTY_LIST: [], EMPTY_MAP: {}}.get(col.empty, _MISSING)
                if empty is not _MISSING:
                    _set(target, col.path, empty)

    def entities(self, spec: Spec, prefix: str) -> list[Document]:
        """One entity per row of a top-level table."""
        table = self.tables[spec.name]
        self.origins[prefix] = table.where()
        positions = self.header(table, spec)
        found: list[Document] = []
        for number, line in table.rows:
            entity: Document = {}
            self.entity(table, spec, number, line, positions, f"{prefix}[{len(found)}]", entity)
            found.append(entity)
        return found

    def children(self, spec: Spec, owners: list[Document], owner_prefix: str, key: str) -> None:
        """Rows of a child table appended to their owners' `key` lists (every owner gets the list)."""
        table = self.tables[spec.name]
        positions = self.header(table, spec)
        index_of = {o["id"]: i for i, o in enumerate(owners) if isinstance(o.get("id"), str)}
        for owner in owners:
            owner[key] = []
        assert spec.owner is not None
        for number, line in table.rows:
            owner_id = self.value(table, number, line, positions, spec.owner, TEXT)
            if owner_id is None:
                if spec.owner in positions:
                    self.report(table.where(number, spec.owner), "a value is required")
                continue
            if owner_id not in index_of:
                self.report(table.where(number, spec.owner), f"unknown {spec.owner} {owner_id!r}")
                continue
            items = owners[index_of[owner_id]][key]
            child: Document = {}
            prefix = f"{owner_prefix}[{index_of[owner_id]}].{key}[{len(items)}]"
            self.entity(table, spec, number, line, positions, prefix, child)
            items.append(child)

    def site(self) -> Document:
        """The document's top level from the one-row site table."""
        doc: Document = {"format": "cart-schedule-instance/1"}
        table = self.tables["site"]
        positions = self.header(table, SITE)
        if not table.rows:
            self.report(table.where(), "the site sheet needs one row (the site)")
            self.failed.add(table.where())
            return doc
        for number, _ in table.rows[1:]:
            self.report(
                table.where(number), "the site sheet holds one row; this extra row is not read"
            )
        number, line = table.rows[0]
        self.entity(table, SITE, number, line, positions, "", doc)
        if "shifts" in self.tables:
            doc.setdefault("site", {})["shifts"] = self.entities(SHIFTS, "site.shifts")
        return doc

    def qc_capacity(self, doc: Document) -> None:
        """qc_lab.capacity from the assay/capacity table."""
        table = self.tables["qc_capacity"]
        spec = Spec("qc_capacity", (_col("assay", TEXT), _col("capacity", INTEGER)))
        positions = self.header(table, spec)
        capacity: dict[str, int] = {}
        self.origins["qc_lab.capacity"] = table.where()
        for number, line in table.rows:
            assay = self.value(table, number, line, positions, "assay", TEXT)
            count = self.value(table, number, line, positions, "capacity", INTEGER)
            if assay is None:
                self.report(table.where(number, "assay"), "a value is required")
            elif assay in capacity:
                self.report(table.where(number, "assay"), f"assay {assay!r} listed twice")
            elif count is None:
                if table.where(number, "capacity") not in self.failed:
                    self.report(table.where(number, "capacity"), "a value is required")
            else:
                capacity[assay] = count
                self.origins[f"qc_lab.capacity.{assay}"] = table.where(number, "capacity")
        doc.setdefault("qc_lab", {})["capacity"] = capacity

    def roster(self, operators: list[Document]) -> None:
        """Roster entries from the grid: operator rows, date columns, shift ids in the cells."""
        table = self.tables["roster"]
        if not table.header or _header_key(table.header[0]) != "operator":
            self.report(table.where(1, get_column_letter(1)), "the first column must be 'operator'")
            return
        dates: dict[int, str] = {}  # column position -> date
        for index, cell in enumerate(table.header[1:], start=1):
            if cell is None:
                continue
            if _header_key(cell) in IGNORED_COLUMNS:
                continue
            try:
                dates[index] = parse_date(cell)
            except ValueError as exc:
                self.report(table.where(1, parse_text(cell)), f"roster columns are dates: {exc}")
        self.columns[table.label] = {"operator": 0} | {day: index for index, day in dates.items()}
        index_of = {o["id"]: i for i, o in enumerate(operators) if isinstance(o.get("id"), str)}
        for operator in operators:
            operator["roster"] = []
        seen: dict[str, int] = {}
        for number, line in table.rows:
            operator_id = parse_text(line[0]) if line and line[0] is not None else None
            if operator_id is None:
                self.report(table.where(number, "operator"), "a value is required")
                continue
            if operator_id not in index_of:
                self.report(table.where(number, "operator"), f"unknown operator {operator_id!r}")
                continue
            if operator_id in seen:
                self.report(
                    table.where(number, "operator"),
                    f"operator {operator_id!r} already has row {seen[operator_id]}",
                )
                continue
            seen[operator_id] = number
            o_index = index_of[operator_id]
            roster = operators[o_index]["roster"]
            for index, day in dates.items():
                cell = line[index] if index < len(line) else None
                for shift in parse_ids(cell) if cell is not None else []:
                    where = table.where(number, day)
                    self.origins[f"operators[{o_index}].roster[{len(roster)}]"] = where
                    self.origins[f"operators[{o_index}].roster[{len(roster)}].shift"] = where
                    roster.append({"date": day, "shift": shift})

    def hospitals(self) -> list[Document]:
        """Hospitals; any weekday column present gives every hospital an apheresis_capacity."""
        hospitals = self.entities(HOSPITALS, "hospitals")
        if any(day in self.columns[self.tables["hospitals"].label] for day in WEEKDAYS):
            for hospital in hospitals:
                hospital.setdefault("apheresis_capacity", {})
        return hospitals

    def document(self) -> Document:
        """The whole instance document (problems are collected along the way)."""
        missing = [
            name for name in TABLES if name not in self.tables and name not in OPTIONAL_TABLES
        ]
        for name in missing:
            self.report(Where(name), "sheet (or CSV file) is missing")
            self.failed.add(Where(name))
        doc: Document = (
            self.site() if "site" in self.tables else {"format": "cart-schedule-instance/1"}
        )
        if "products" in self.tables:
            doc["products"] = self.entities(PRODUCTS, "products")
            if "steps" in self.tables:
                self.children(STEPS, doc["products"], "products", "steps")
            if "assays" in self.tables:
                self.children(ASSAYS, doc["products"], "products", "qc_assays")
        if "suites" in self.tables:
            doc["suites"] = self.entities(SUITES, "suites")
            if "suite_downtime" in self.tables:
                self.children(SUITE_DOWNTIME, doc["suites"], "suites", "unavailable")
        if "operators" in self.tables:
            doc["operators"] = self.entities(OPERATORS, "operators")
            if "roster" in self.tables:
                self.roster(doc["operators"])
        if "qc_capacity" in self.tables:
            self.qc_capacity(doc)
        if "hospitals" in self.tables:
            doc["hospitals"] = self.hospitals()
        for spec, key in ((PATIENTS, "patients"), (IN_PROGRESS, "in_progress")):
            if spec.name in self.tables:
                doc[key] = self.entities(spec, key)
        return doc

    def order(self, where: Where) -> tuple[int, int, int]:
        """Sheet order, then row, then column: problems read top to bottom, left to right."""
        name = _header_key(Path(where.table).stem)
        column = self.columns.get(where.table, {}).get(
            where.column or "", -1 if where.column is None else 1 << 20
        )
        return (TABLES.index(name) if name in TABLES else len(TABLES), where.row or 0, column)

    def locate(self, path: str) -> tuple[Where, str]:
        """The sheet, row and column of a JSON path, and what of the path lies below that place."""
        path = path.removesuffix(" (key)")
        probe = path
        while probe:
            if probe in self.origins:
                return self.origins[probe], path[len(probe) :].lstrip(".")
            parent = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe)
            probe = "" if parent == probe else parent  # a top-level key has no parent
        top = re.split(r"[.\[]", path, maxsplit=1)[0]
        table = self.tables.get(TABLE_OF_KEY.get(top, ""))
        return Where(table.label if table else TABLE_OF_KEY.get(top, "workbook")), path

    def model_problems(self, problems: list[Problem]) -> None:
        """Problems found by the instance checks, moved from JSON paths to sheets, rows and columns."""
        for problem in problems:
            where, rest = self.locate(problem.path)
            column_missing = Where(where.table, None, where.column) in self.failed
            if where in self.failed or column_missing or Where(where.table) in self.failed:
                continue  # already reported as a bad cell, missing column or missing sheet
            referenced = next(
                (t for m, t in REFERENCED_TABLE.items() if problem.message.startswith(m)), None
            )
            if referenced is not None and Where(referenced) in self.failed:
                continue
            message = (
                "a value is required"
                if problem.message == "required field is missing"
                else problem.message
            )
            if rest and where.column is None:
                message = f"{rest}: {message}"
            self.report(where, message)


def document_from_tables(tables: dict[str, RawTable]) -> tuple[Document, list[Problem]]:
    """The instance document of the tables, and every problem (by sheet, row, column)."""
    builder = _Builder(tables)
    doc = builder.document()
    try:
        load_instance(doc)
    except InstanceError as error:
        builder.model_problems(error.problems)
    located = sorted(builder.problems, key=lambda item: builder.order(item[0]))
    unique = list(dict.fromkeys(located))
    return doc, [Problem(str(where), message) for where, message in unique]


def read_instance(source: str | Path) -> Instance:
    """Read a workbook or CSV folder as an instance; raise WorkbookError listing every problem."""
    tables, problems = read_tables(source)
    if problems:
        raise WorkbookError(problems, str(source))
    doc, problems = document_from_tables(tables)
    if problems:
        raise WorkbookError(problems, str(source))
    return load_instance(doc)


# --- writing instances and the template -------------------------------------------------------


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
