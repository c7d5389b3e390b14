"""The two products (a lentiviral isolator and a closed-system device process) and their timings."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from generator.calendar import add_real_hours
from generator.context import Context, Doc, doc_number

ISOLATOR = "isolator"
CLOSED_SYSTEM = "closed-system"
LENTI_PRODUCT = "bcma-lv-01"
DEVICE_PRODUCT = "cd19-auto-02"

# Slack days for weekends and lab waits when checking that a chain fits the horizon.
CHAIN_SLACK_DAYS = 2
MAX_RETURN_TRANSIT_DAYS = 2


def build_products(ctx: Context) -> list[Doc]:
    """The lentiviral and the device product, in that order, with drawn durations."""
    rng = ctx.rng
    dst = ctx.scenario == "dst"
    lenti_hours = rng.choice((240, 246, 252, 258))
    # A step must fall before manufacturing ends: a 240 h process harvests on day 9.
    harvest_day = 10 if lenti_hours > 240 else 9
    lenti_steps = [
        _step("activation", 0, rng.choice((3, 3.5, 4)), 2, "aseptic"),
        _step("transduction", 1, rng.choice((1.5, 2)), 2, "transduction"),
        _step("wash", 2, 1, 1, "aseptic"),
        _step("feed-ipc", 5, rng.choice((0.75, 1, 1.5)), 2, "aseptic"),
        _step("feed", 7, rng.choice((0.5, 1)), 1, "aseptic"),
        _step("harvest-formulation", harvest_day, rng.choice((4, 4.5)), 2, "harvest"),
        _step("fill-freeze", harvest_day, 1.5, 2, "cryo"),
    ]
    if rng.random() < 0.4:
        lenti_steps = [s for s in lenti_steps if s["id"] != "feed"]
    lenti_assays = [
        _assay("sterility", harvest_day, 7, 2),
        _assay("mycoplasma", harvest_day, rng.choice((1, 2)), rng.choice((1, 2))),
        _assay("endotoxin", harvest_day, 1, 2),
        _assay("viability", harvest_day, 0, 1),
        _assay("vcn", harvest_day, 2, 2),
        _assay("identity", harvest_day, 1, rng.choice((1, 2))),
    ]
    if rng.random() < 0.5:
        lenti_assays.append(_assay("potency", harvest_day, rng.choice((2, 3)), 2))
    lenti = {
        "id": LENTI_PRODUCT,
        # Fixed in the dst scenario: with the hospitals' collection end and transit they
        # put receipt and shelf-life end exactly on shift starts in real time on the
        # clock-change Sunday, an hour off by the wall clock (see hospitals._dst_hospital).
        "fresh_shelf_life_hours": 72 if dst else rng.choice((48, 60, 72)),
        "receipt_hours": 4 if dst else rng.choice((4, 6)),
        "manufacturing_hours": lenti_hours,
        "changeover_hours": rng.choice((8, 12, 16, 24)),
        "suite_types": [ISOLATOR],
        "steps": lenti_steps,
        "qc_assays": lenti_assays,
        "qp_release_days": rng.choice((1, 2)),
    }
    device_harvest = 7
    device = {
        "id": DEVICE_PRODUCT,
        "fresh_shelf_life_hours": 48,
        "receipt_hours": 3 if dst else rng.choice((3, 4)),
        "manufacturing_hours": rng.choice((180, 186, 192)),
        "changeover_hours": doc_number(rng.choice((1, 1.5, 2, 3))),
        "suite_types": [CLOSED_SYSTEM],
        "steps": [
            _step("setup-selection", 0, rng.choice((2.5, 3)), 2, "device"),
            _step("transduction", 1, 1, 1, "transduction"),
            _step("ipc-sampling", 5, rng.choice((0.5, 1)), 1, "aseptic"),
            _step("harvest", device_harvest, rng.choice((2, 2.5)), 2, "device"),
            _step("fill-freeze", device_harvest, 1.5, 2, "cryo"),
        ],
        "qc_assays": [
            _assay("sterility", device_harvest, 7, rng.choice((1, 2))),
            _assay("mycoplasma", device_harvest, 1, 2),
            _assay("endotoxin", device_harvest, 1, rng.choice((1, 2))),
            _assay("viability", device_harvest, 0, 2),
            _assay("identity", device_harvest, rng.choice((1, 2)), 1),
        ],
        "qp_release_days": rng.choice((1, 2)),
    }
    return [lenti, device]


def _step(step_id: str, day_offset: int, hours: float, operators: int, skill: str) -> Doc:
    return {
        "id": step_id,
        "day_offset": day_offset,
        "hours": doc_number(hours),
        "operators": operators,
        "skill": skill,
    }


def _assay(assay_id: str, sample_day_offset: int, duration_days: int, max_wait_days: int) -> Doc:
    return {
        "id": assay_id,
        "sample_day_offset": sample_day_offset,
        "duration_days": duration_days,
        "max_wait_days": max_wait_days,
    }


def manufacturing_days(product: Doc) -> int:
    """Calendar days the process runs, rounded up."""
    return math.ceil(float(product["manufacturing_hours"]) / 24)


def occupancy_days(product: Doc) -> float:
    """Days a batch holds its position, changeover included."""
    return float(product["manufacturing_hours"] + product["changeover_hours"]) / 24


def chain_days(product: Doc) -> int:
    """Days from apheresis to delivery with little waiting: keeps windows reachable."""
    qc_done: int = max(a["sample_day_offset"] + a["duration_days"] for a in product["qc_assays"])
    in_plant = max(manufacturing_days(product), qc_done)
    release: int = product["qp_release_days"]
    return 1 + in_plant + CHAIN_SLACK_DAYS + release + MAX_RETURN_TRANSIT_DAYS


def latest_delivery(product: Doc, start_day: date) -> date:
    """Delivery date if every assay waits as long as it may (an upper bound)."""
    done = max(
        start_day + timedelta(days=a["sample_day_offset"] + a["max_wait_days"] + a["duration_days"])
        for a in product["qc_assays"]
    )
    end = add_real_hours(
        datetime.combine(start_day, datetime.min.time()), product["manufacturing_hours"] + 24
    ).date()
    release = max(done, end) + timedelta(days=product["qp_release_days"])
    return release + timedelta(days=MAX_RETURN_TRANSIT_DAYS)
