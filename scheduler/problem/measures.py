"""What every reading of the three measures of SPEC section 4 shares: direction, floors, scales."""

from __future__ import annotations

from fractions import Fraction

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
    scale = 1
    while any(Fraction(str(w)) * scale % 1 for w in weights) and scale < 10**6:
        scale *= 10
    return scale


def compact_number(value: float) -> float:
    """A measure's value as the schedule writes it: whole numbers without a fraction, else 6 decimals."""
    return int(value) if float(value).is_integer() else round(value, 6)
