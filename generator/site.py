"""The site: its shifts, whether a night crew runs, and how many batches it can start a day."""

from __future__ import annotations

import math
import random

from generator.context import Context, Doc

EARLY_SHIFT: Doc = {"id": "E", "start": "07:00", "hours": 8}
LATE_SHIFT: Doc = {"id": "L", "start": "15:00", "hours": 8}
NIGHT_SHIFT: Doc = {"id": "N", "start": "23:00", "hours": 8}

APHERESIS_SPREAD_SHARE = {"xs": 0.3}  # of the horizon; other sizes use the default
DEFAULT_APHERESIS_SPREAD_SHARE = 0.4
# Starts per day, as a multiple of the average new starts per weekday.
STARTS_PEAK_FACTOR = 1.5


def has_night_crew(size: str, scenario: str, rng: random.Random) -> bool:
    """Whether the site runs a night shift (the first random draw of an instance)."""
    # A night crew needs people to spare: never at xs (six operators), always in the dst
    # scenario (a night shift that runs across the clock change), half the time at l/xl.
    night = scenario == "dst" and size != "xs"
    if size in ("l", "xl") and scenario != "dst":
        night = rng.random() < 0.5
    return night


def site_shifts(night: bool) -> list[Doc]:
    """The shifts of the site: early and late, and the night if a night crew runs."""
    shifts: list[Doc] = [dict(EARLY_SHIFT), dict(LATE_SHIFT)]
    if night:
        shifts.append(dict(NIGHT_SHIFT))
    return shifts


def spread_days(ctx: Context) -> int:
    """Days over which the apheresis windows open: the collection weeks of the horizon."""
    share = APHERESIS_SPREAD_SHARE.get(ctx.size, DEFAULT_APHERESIS_SPREAD_SHARE)
    return max(3, round(share * ctx.days))


def max_starts(ctx: Context) -> int:
    """Starts per date: the normal demand per weekday with headroom for clustering."""
    per_weekday = ctx.spec.patients / (spread_days(ctx) * 5 / 7)
    return max(2, math.ceil(per_weekday * STARTS_PEAK_FACTOR))
