"""The sheets of a workbook and their columns: which tables exist, and for each table the
columns, the JSON path each fills inside its entity, and the cell kind that reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from models.timeutil import WEEKDAYS
from models.workbook.cells import (
    BOOL,
    CLOCK,
    DATE,
    DATE_COUNTS,
    DATES,
    DATETIME,
    IDS,
    INTEGER,
    NUMBER,
    TEXT,
    WEEKDAY_LIST,
    Kind,
    parse_text,
)

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

# What a present column with an empty cell means: leave the field out, null, or an empty list/map.
OMIT, NULL, EMPTY_LIST, EMPTY_MAP = "omit", "null", "list", "map"
# A field an entity does not have (None would be a JSON null).
MISSING = object()


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
# qc_capacity fills the qc_lab.capacity map, not a list of entities, so it is not in SPECS.
QC_CAPACITY = Spec("qc_capacity", (_col("assay", TEXT), _col("capacity", INTEGER)))
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


def header_key(name: Any) -> str:
    """Headers match whatever the case and spacing (`Apheresis earliest` is apheresis_earliest)."""
    return re.sub(r"[\s\-]+", "_", parse_text(name).strip().lower())
