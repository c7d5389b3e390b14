"""The sizes and scenarios an instance is generated for, and the recipe of the Ghent week."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SizeSpec:
    """Resource dimensions of one size; `patients` is the demand of the "normal" scenario."""

    patients: int
    suites: int
    positions: int
    operators: int
    horizon_days: int
    hospitals: int


SIZES: dict[str, SizeSpec] = {
    "xs": SizeSpec(patients=6, suites=2, positions=2, operators=6, horizon_days=35, hospitals=2),
    "s": SizeSpec(patients=20, suites=4, positions=3, operators=16, horizon_days=42, hospitals=4),
    "m": SizeSpec(patients=60, suites=10, positions=4, operators=40, horizon_days=49, hospitals=10),
    "l": SizeSpec(
        patients=120, suites=24, positions=4, operators=90, horizon_days=56, hospitals=20
    ),
    "xl": SizeSpec(
        patients=300, suites=50, positions=4, operators=200, horizon_days=70, hospitals=40
    ),
}
SCENARIOS = (
    "normal",
    "overload",
    "waitlist",
    "dst",
    "holidays",
    "downtime",
    "scarce-skill",
    "infeasible-commitments",
)

# Batches already running, like the patients, are part of every size's demand: the QC lab is
# sized for them and the positions they hold are drawn from.
IN_PROGRESS_SHARE = 0.5  # of all positions, at horizon start

# A Ghent-like mid-size plant (CART-DOMAIN 2.1 and 8: 12 suites, 20-30 ATCs, 40-80 lots a week).
GHENT_WEEK = SizeSpec(
    patients=60, suites=12, positions=4, operators=48, horizon_days=56, hospitals=24
)
GHENT_WEEK_SEED = 49
