"""The manufacturing suites, the product mix they can carry, and their planned downtime."""

from __future__ import annotations

from datetime import datetime, timedelta

from generator.calendar import add_real_hours, iso
from generator.context import Context, Doc
from generator.products import CLOSED_SYSTEM, ISOLATOR, occupancy_days
from generator.site import spread_days

ISOLATOR_SUITE_SHARE = 0.6
# Starts can run a few days past the last window opening (window width, shelf-life), and a
# position is held ~9.5 days on average (lenti ~11, device ~8): used to size the plant that the
# overload and waitlist scenarios load beyond its normal demand.
OVERLOAD_EXTRA_START_DAYS = 5
MEAN_OCCUPANCY_DAYS = 9.5

UNAVAILABLE_REASONS = {
    ISOLATOR: ("isolator requalification", "glove integrity failure", "HVAC maintenance"),
    CLOSED_SYSTEM: ("device requalification", "HVAC maintenance", "annual shutdown clean"),
}
SHARED_UNAVAILABLE_REASON = "environmental monitoring excursion"
DOWNTIME_SUITE_SHARE = 0.4


def build_suites(ctx: Context) -> list[Doc]:
    """Isolator suites first, then closed-system suites, all available for now."""
    count = ctx.spec.suites
    if ctx.scenario in ("overload", "waitlist"):
        # A plant sized for the normal demand meets 1.5x of it: a position holds about
        # (collection weeks + a few days) / occupancy batches whose chains fit the horizon.
        per_position = (spread_days(ctx) + OVERLOAD_EXTRA_START_DAYS) / MEAN_OCCUPANCY_DAYS
        needed = ctx.spec.patients / per_position / ctx.spec.positions
        count = max(2, min(count, round(needed)))
    isolators = min(count - 1, max(1, round(count * ISOLATOR_SUITE_SHARE)))
    positions = ctx.spec.positions
    return [
        {
            "id": f"S{index + 1:02d}",
            "type": ISOLATOR if index < isolators else CLOSED_SYSTEM,
            "positions": positions,
            "unavailable": [],
        }
        for index in range(count)
    ]


def _positions_of(suites: list[Doc], suite_type: str) -> int:
    return sum(s["positions"] for s in suites if s["type"] == suite_type)


def isolator_patient_share(products: list[Doc], suites: list[Doc]) -> float:
    """Share of patients on the lentiviral product that loads both suite types equally."""
    lenti, device = products
    lenti_rate = _positions_of(suites, ISOLATOR) / occupancy_days(lenti)
    device_rate = _positions_of(suites, CLOSED_SYSTEM) / occupancy_days(device)
    return lenti_rate / (lenti_rate + device_rate)


def add_unavailability(
    ctx: Context, products: list[Doc], suites: list[Doc], in_progress: list[Doc]
) -> None:
    """Take suites down for requalification or maintenance, around their running batches."""
    rng = ctx.rng
    if ctx.scenario == "downtime":
        count, lengths, first_day, latitude = (
            max(1, round(DOWNTIME_SUITE_SHARE * len(suites))),
            (2, 5),
            2,
            spread_days(ctx) - 2,
        )
    elif ctx.maintenance:
        # A requalification announced for the busy weeks, which the plan must work around.
        count, lengths, first_day, latitude = 1, (2, 3), 7, spread_days(ctx) - 7
    elif ctx.maintenance is None and rng.random() < 0.35:
        # Planned maintenance goes where the plan is thin: after the last collections.
        count, lengths, first_day, latitude = 1, (1, 2), spread_days(ctx) + 10, ctx.days
    else:
        return
    for suite in rng.sample(suites, count):
        # Requalification is planned around running batches, never through them.
        free_from = datetime.combine(ctx.start, datetime.min.time())
        for batch in in_progress:
            if batch["suite"] == suite["id"]:
                product = next(p for p in products if p["id"] == batch["product"])
                occupied = product["manufacturing_hours"] + product["changeover_hours"]
                end = add_real_hours(datetime.fromisoformat(batch["manufacturing_start"]), occupied)
                free_from = max(free_from, end)
        length = rng.randint(*lengths)
        lo = max((free_from.date() - ctx.start).days + 1, first_day)
        hi = min(lo + latitude, ctx.days - length - 1)
        if hi < lo:
            continue
        day = ctx.start + timedelta(days=rng.randint(lo, hi))
        suite["unavailable"].append(
            {
                "start": f"{iso(day)}T00:00",
                "end": f"{iso(day + timedelta(days=length))}T07:00",
                "reason": rng.choice(
                    (*UNAVAILABLE_REASONS[suite["type"]], SHARED_UNAVAILABLE_REASON)
                ),
            }
        )
