"""The disruption rates a simulation samples from, their defaults and where they come from.

Per-batch rates (manufacturing failure, out of specification) and the per-patient drop-out rate
may be set per product in the instance by optional product fields `failure_rate`,
`out_of_spec_rate` and `dropout_rate` (SPEC 5 allows optional additions); a rate given on the
command line overrides them for every product. Sources: docs/SIMULATION.md and
/work/shared/domain/CART-DOMAIN.md section 8.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from models import Instance

POLICIES = ("repair", "replan")

DEFAULT_FAILURE_RATE = 0.03  # per batch: no product (CART-DOMAIN 8: 3 %, range 1-8 %)
DEFAULT_OUT_OF_SPEC_RATE = 0.05  # per batch: out of specification (CART-DOMAIN 8: 5 %, 1-16 %)
DEFAULT_DROPOUT_RATE = 0.08  # per patient: collected, never infused (CART-DOMAIN 8: 8 %, 5-30 %)
DEFAULT_SUITE_DOWN_RATE = 0.01  # per suite and week (estimate, no published figure)
DEFAULT_OPERATOR_ABSENCE_RATE = 0.05  # per operator and week (estimate)

SOURCES: dict[str, str] = {
    "failure_rate": "CART-DOMAIN 8: 3 % (1-8 %); Front. Immunol. 2021 Table 2 (PMC8427697); "
    "Legend 97 % success (Q1 2025 call); ASH 2025 cilta-cel 2.9 % failed",
    "out_of_spec_rate": "CART-DOMAIN 8: 5 % (1-16 %); ASH 2025 cilta-cel 16 % out of specification; "
    "Sidana 2025 (191/236 conforming)",
    "dropout_rate": "CART-DOMAIN 8: 8 % (5-30 %); Sidana 2025 (7.5 %); Front. Immunol. 2021 (8-30 %)",
    "suite_down_rate": "estimate [E]: no published figure; one unplanned closure of 1-3 days "
    "per suite in about two years",
    "operator_absence_rate": "estimate [E]: absence spells of 1-5 days; Binocs 'L2 calls in sick' "
    "scenario [S*] gives no figure",
}


@dataclass(frozen=True)
class Rates:
    """Rates given on the command line; None means the product's own field, else the default."""

    failure_rate: float | None = None
    out_of_spec_rate: float | None = None
    dropout_rate: float | None = None
    suite_down_rate: float = DEFAULT_SUITE_DOWN_RATE
    operator_absence_rate: float = DEFAULT_OPERATOR_ABSENCE_RATE

    def per_product(self, instance: Instance) -> dict[str, dict[str, float]]:
        """For every product: the failure, out-of-specification and drop-out rate that apply."""
        defaults = {
            "failure_rate": DEFAULT_FAILURE_RATE,
            "out_of_spec_rate": DEFAULT_OUT_OF_SPEC_RATE,
            "dropout_rate": DEFAULT_DROPOUT_RATE,
        }
        table: dict[str, dict[str, float]] = {}
        for product in instance.products:
            row = {}
            for name, default in defaults.items():
                given = getattr(self, name)
                own = getattr(product, name, None)
                value = given if given is not None else own if own is not None else default
                row[name] = float(value)
            table[product.id] = row
        return table

    def to_dict(self, instance: Instance) -> dict[str, Any]:
        """What the report states: the rates given, per product as applied, and their sources."""
        return {
            "given": asdict(self),
            "per_product": self.per_product(instance),
            "suite_down_rate_per_suite_week": self.suite_down_rate,
            "operator_absence_rate_per_operator_week": self.operator_absence_rate,
            "sources": dict(SOURCES),
        }
