"""Tables in files: writing tables to an .xlsx workbook or a folder of CSV files, and reading
them back as raw cells with the place (sheet or file, row, column) every cell came from.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pandas as pd
from openpyxl import Workbook, load_workbook  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]
from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]
from openpyxl.worksheet._read_only import ReadOnlyWorksheet  # type: ignore[import-untyped]
from openpyxl.worksheet._reader import WorkSheetParser  # type: ignore[import-untyped]
from openpyxl.worksheet.worksheet import Worksheet  # type: ignore[import-untyped]

from models.checks import Problem
from models.workbook.cells import csv_text
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits, check_archive
from models.workbook.sheets import TABLES, header_key

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
                [[csv_text(value) for value in row] for row in table.rows],
                columns=[csv_text(column) for column in table.columns],
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
            [len(csv_text(column))] + [len(csv_text(row[index - 1])) for row in table.rows[:200]]
        )
        sheet.column_dimensions[letter].width = min(max(width + 2, 8), 60)
    sheet.freeze_panes = "B2"


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


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


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


def read_tables(
    source: str | Path, limits: WorkbookLimits = DEFAULT_LIMITS
) -> tuple[dict[str, RawTable], list[Problem]]:
    """The known tables of an .xlsx workbook or a CSV folder, and any problem reading them.

    A workbook is checked before it is opened (`safety.check_archive`) and its sheets are read
    cell by cell as stored, never padded to the size a sheet declares; a value beyond
    `limits.max_rows` or `limits.max_columns` is a problem naming the sheet.
    """
    path = Path(source)
    if path.is_dir():
        return _read_csv_folder(path)
    if not path.exists():
        return {}, [Problem(str(path), "no such file or folder")]
    if path.suffix.lower() not in (".xlsx", ".xlsm"):
        return {}, [Problem(str(path), "expected an .xlsx workbook or a folder of CSV files")]
    unsafe = check_archive(path, limits)
    if unsafe:
        return {}, [Problem(str(path), f"cannot read the workbook: {text}") for text in unsafe]
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (
        OSError,
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
        SyntaxError,  # xml.etree's ParseError: a member is not well-formed XML
    ) as exc:
        _out_of_memory(exc)
        return {}, [Problem(str(path), f"cannot read the workbook: {exc}")]
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    try:
        sheets = {header_key(name): name for name in workbook.sheetnames}
        for name in TABLES:
            if name in sheets:
                label = sheets[name]
                try:
                    tables[name] = _read_sheet(name, label, workbook[label], limits)
                except SheetError as exc:
                    problems.append(Problem(label, str(exc)))
                except (KeyError, IndexError, TypeError, ValueError, SyntaxError) as exc:
                    _out_of_memory(exc)
                    problems.append(Problem(label, f"cannot read the sheet: {exc}"))
    finally:
        workbook.close()
    return tables, problems


def _out_of_memory(error: Exception) -> None:
    """Raise MemoryError for the XML parser's way of saying it ran out of memory."""
    if isinstance(error, SyntaxError) and "out of memory" in str(error):
        raise MemoryError(str(error)) from error


class SheetError(ValueError):
    """A sheet that cannot be read: not a worksheet, or values beyond the limits."""


def _read_sheet(name: str, label: str, sheet: Any, limits: WorkbookLimits) -> RawTable:
    """A worksheet as a raw table, from the cells its XML holds.

    openpyxl's `iter_rows` pads every row to the width the sheet declares (or to its last cell)
    and fills every missing row up to the declared height: a few kilobytes declaring
    100,000 x 16,384 cells would become billions of empty cells. So the sheet's XML is streamed
    through openpyxl's own cell parser (same values, dates, shared strings as `iter_rows`) and
    only non-empty cells are kept; a value beyond the limits stops the reading.
    """
    if not isinstance(sheet, ReadOnlyWorksheet):
        raise SheetError(f"sheet {label!r} is not a worksheet (a chart?)")
    workbook = sheet.parent
    cells: dict[int, dict[int, Any]] = {}
    with sheet._get_source() as source:
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,
            data_only=workbook.data_only,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, row in parser.parse():
            for cell in row:
                value = cell["value"]
                if _is_empty(value):
                    continue
                column = cell["column"]
                if number > limits.max_rows or column > limits.max_columns:
                    raise SheetError(
                        f"sheet {label!r} has a value in cell {get_column_letter(column)}{number}, "
                        f"beyond the {limits.max_rows:,} rows and {limits.max_columns} columns "
                        "a planning sheet may have"
                    )
                cells.setdefault(number, {})[column] = value
    width = max((max(row) for row in cells.values()), default=0)
    last = max(cells, default=0)
    grid = (
        [cells.get(number, {}).get(column) for column in range(1, width + 1)]
        for number in range(1, last + 1)
    )
    return _raw_table(name, label, grid)


def _read_csv_folder(folder: Path) -> tuple[dict[str, RawTable], list[Problem]]:
    tables: dict[str, RawTable] = {}
    problems: list[Problem] = []
    files = {
        header_key(file.stem): file for file in folder.iterdir() if file.suffix.lower() == ".csv"
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
