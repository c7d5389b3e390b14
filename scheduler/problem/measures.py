"""What every reading of the three measures of SPEC section 4 shares: direction, floors, scales."""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

MAXIMISED = {"scheduled_weight"}
# Not a SPEC measure: a re-plan's last level, how far it moves patients without an event of their
# own (`problem/steady.py`); never in `objective`/`bound`, which keep the SPEC's three.
STEADY_MEASURE = "churn"
NEVER_NEGATIVE = {
    "plan_changes",
    "wait_days",
    STEADY_MEASURE,
}  # counts, and days from the window's opening to delivery


def weight_scale(weights: list[float]) -> int:
    """The smallest power of ten making every weight an integer (weights may be fractional)."""
    return max((_weight_scale(w) for w in set(weights)), default=1)


@lru_cache(maxsize=4096)
def _weight_scale(weight: float) -> int:
    # A site has a handful of distinct weights; a simulated run asks for them on every day.
    scale = 1
    while Fraction(str(weight)) * scale % 1 and scale < 10**6:
        scale *= 10
    return scale


def compact_number(value: float) -> float:
    """A measure's value as the schedule writes it: whole numbers without a fraction, else 6 decimals."""
    return int(value) if float(value).is_integer() else round(value, 6)
