"""Tables -> instance document: the raw tables as a `cart-schedule-instance/1` document, with
every problem (bad cells, missing columns and sheets, and the reference and uniqueness problems
`load_instance` finds by JSON path) named by sheet, row and column.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from models.checks import Problem
from models.instance import Instance
from models.io import InputError, InstanceError, load_instance
from models.timeutil import WEEKDAYS
from models.workbook.cells import INTEGER, TEXT, Kind, parse_date, parse_ids, parse_text
from models.workbook.files import RawTable, Where, read_tables
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits
from models.workbook.sheets import (
    ASSAYS,
    EMPTY_LIST,
    EMPTY_MAP,
    HOSPITALS,
    IGNORED_COLUMNS,
    IN_PROGRESS,
    MISSING,
    NULL,
    OPERATORS,
    OPTIONAL_TABLES,
    PATIENTS,
    PRODUCTS,
    QC_CAPACITY,
    REFERENCED_TABLE,
    SHIFTS,
    SITE,
    STEPS,
    SUITE_DOWNTIME,
    SUITES,
    TABLE_OF_KEY,
    TABLES,
    Document,
    Spec,
    header_key,
)


class WorkbookError(InputError):
    """A workbook (or CSV folder) cannot become an instance; every problem names sheet, row, column."""


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
        known = {header_key(col.name): col.name for col in spec.columns}
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
            key = header_key(cell)
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
                empty = {NULL: None, EMPTY_LIST: [], EMPTY_MAP: {}}.get(col.empty, MISSING)
                if empty is not MISSING:
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
        spec = QC_CAPACITY
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
        if not table.header or header_key(table.header[0]) != "operator":
            self.report(table.where(1, get_column_letter(1)), "the first column must be 'operator'")
            return
        dates: dict[int, str] = {}  # column position -> date
        for index, cell in enumerate(table.header[1:], start=1):
            if cell is None:
                continue
            if header_key(cell) in IGNORED_COLUMNS:
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
        name = header_key(Path(where.table).stem)
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


def read_instance(source: str | Path, limits: WorkbookLimits = DEFAULT_LIMITS) -> Instance:
    """Read a workbook or CSV folder as an instance; raise WorkbookError listing every problem."""
    tables, problems = read_tables(source, limits)
    if problems:
        raise WorkbookError(problems, str(source))
    doc, problems = document_from_tables(tables)
    if problems:
        raise WorkbookError(problems, str(source))
    return load_instance(doc)
