"""The QC lab: the days it works, the dates it is closed and the assay starts it can take a day."""

from __future__ import annotations

import math
from datetime import date

from generator.calendar import HOLIDAY_QC_CLOSED, QC_PUBLIC_HOLIDAYS, WEEKDAYS
from generator.context import Context, Doc
from generator.site import spread_days
from generator.sizes import IN_PROGRESS_SHARE

# QC starts per assay and day, as a multiple of the average demand per lab working day.
QC_PEAK_FACTOR = {"sterility": 1.6}
DEFAULT_QC_PEAK_FACTOR = 2.0


def lab_days(size: str) -> tuple[str, ...]:
    """Weekdays the lab works: the large plants' labs work Saturdays too."""
    lab_saturday = size in ("l", "xl", "ghent")
    return WEEKDAYS[:6] if lab_saturday else WEEKDAYS[:5]


def lab_closed_dates(scenario: str, start: date, end: date) -> list[date]:
    """Holidays inside the horizon on which the lab is closed."""
    closed = HOLIDAY_QC_CLOSED if scenario == "holidays" else QC_PUBLIC_HOLIDAYS
    return [d for d in closed if start <= d < end]


def lab_open(ctx: Context, day: date) -> bool:
    """Whether the lab can start assays on `day`."""
    return WEEKDAYS[day.weekday()] in ctx.lab_days and day not in ctx.lab_closed


def qc_capacity(ctx: Context, products: list[Doc]) -> dict[str, int]:
    """Assay starts per day sized to the normal demand (the overload scenario keeps them)."""
    batches = ctx.spec.patients + round(IN_PROGRESS_SHARE * ctx.spec.suites * ctx.spec.positions)
    # Harvests spread over the collection weeks plus one process length.
    harvest_days = spread_days(ctx) + 10
    per_lab_day = batches / (harvest_days * len(ctx.lab_days) / 7)
    capacity: dict[str, int] = {}
    for product in products:
        for assay in product["qc_assays"]:
            factor = QC_PEAK_FACTOR.get(assay["id"], DEFAULT_QC_PEAK_FACTOR)
            capacity[assay["id"]] = max(2, math.ceil(per_lab_day * factor))
    return dict(sorted(capacity.items()))
