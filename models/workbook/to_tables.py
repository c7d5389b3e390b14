"""Instance -> tables: an instance as the rows of its sheets, the roster as a grid.

A column (or optional table) is written exactly when some entity has the field, so that reading
the tables back gives the same instance.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from models.instance import Instance
from models.io import to_json
from models.workbook.files import Table
from models.workbook.sheets import (
    ASSAYS,
    HOSPITALS,
    IN_PROGRESS,
    MISSING,
    OPERATORS,
    PATIENTS,
    PRODUCTS,
    QC_CAPACITY_COLUMNS,
    SHIFTS,
    SITE,
    STEPS,
    SUITE_DOWNTIME,
    SUITES,
    Col,
    Document,
    Spec,
)


def _get(entity: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(entity, dict) or key not in entity:
            return MISSING
        entity = entity[key]
    return entity


def _entity_table(spec: Spec, entities: list[tuple[str | None, Document]]) -> Table:
    """Rows of entities (with their owner's id for child tables); a column only if some entity has it."""
    weekdays_given = spec is HOSPITALS and any("apheresis_capacity" in e for _, e in entities)
    columns = [
        col
        for col in spec.columns
        if col.required
        or any(_get(e, col.path) is not MISSING for _, e in entities)
        or (weekdays_given and col.path[0] == "apheresis_capacity")
    ]
    table = Table(spec.name, ([spec.owner] if spec.owner else []) + [col.name for col in columns])
    for owner, entity in entities:
        cells = [_cell(col, _get(entity, col.path)) for col in columns]
        table.rows.append(([owner] if spec.owner else []) + cells)
    return table


def _cell(col: Col, value: Any) -> Any:
    if value is MISSING or value is None:
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
