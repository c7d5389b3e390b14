"""Promises with a probability: what availability needs from a plan's simulation, computed once.

The estimator (docs/SIMULATION.md, "Promises with a probability"): an offer is on time when
its batch succeeds, or when it is lost (failed or out of specification) and the rescue batch is
delivered by the end of the infusion window:

    P(on time) = (1 - loss_p) + loss_p * rescued * F(slack + release_to_delivery)

- `loss_p` = 1 - (1 - failure_rate_p) (1 - out_of_spec_rate_p): the rates the simulation
  applied to the offer's product;
- `rescued` = rescued patients / failed batches, summed over the policy's runs (how often the
  policy delivered a rescue at all);
- `F(d)` = the share of the policy's pooled rescue delays (days from the failure being found
  to the rescue's delivery) that are at most `d` days, with `d` = the offer's slack (window end
  minus delivery) plus its days from release to delivery: the failure is taken as found at
  release, the latest it can be found, so the estimate errs on the low side.

`promise_model` reduces a report to these few numbers when the simulation ends (a cumulative
table of rescue delays, one number per product), so availability answers with a lookup and
never reads the raw report.
"""

from __future__ import annotations

from datetime import date
from typing import Any

PROMISE_FORMAT = "cart-schedule-promise/1"


def promise_model(simulation_id: str, report: dict[str, Any]) -> dict[str, Any]:
    """The few numbers availability needs from a simulation report (policy variant)."""
    runs = report["runs"]
    delays = sorted(int(d) for run in runs for d in run["policy"].get("rescue_delay_days", []))
    failed = sum(int(run["policy"].get("failed_batches") or 0) for run in runs)
    rescued = sum(int(run["policy"].get("rescued_patients") or 0) for run in runs)
    cumulative: list[float] = []
    if delays:
        counted = 0
        for days in range(delays[-1] + 1):
            while counted < len(delays) and delays[counted] <= days:
                counted += 1
            cumulative.append(round(counted / len(delays), 6))
    per_product = report["config"]["rates_applied"]["per_product"]
    loss = {
        product: 1.0
        - (1.0 - float(rates.get("failure_rate") or 0.0))
        * (1.0 - float(rates.get("out_of_spec_rate") or 0.0))
        for product, rates in per_product.items()
    }
    return {
        "format": PROMISE_FORMAT,
        "simulation_id": simulation_id,
        "runs": len(runs),
        "loss": loss,
        "failed_batches": failed,
        "rescued_fraction": None if failed == 0 else min(1.0, rescued / failed),
        "rescue_delay_cdf": cumulative,
    }


def on_time_probability(
    model: dict[str, Any], product: str, release: date, delivery: date, latest: date | None
) -> float | None:
    """The estimated probability that an offer's patient is infused inside the window (None: unknown product)."""
    losses: dict[str, float] = model["loss"]
    if product not in losses:
        return None
    loss = losses[product]
    rescued: float | None = model["rescued_fraction"]
    cumulative: list[float] = model["rescue_delay_cdf"]
    if rescued is None or not cumulative:
        # No failure was rescued in the simulation: a lost batch counts as late.
        reached = 0.0
    elif latest is None:
        reached = 1.0  # no window end: any delivered rescue is on time
    else:
        allowed = (latest - delivery).days + (delivery - release).days
        reached = 0.0 if allowed < 0 else cumulative[min(allowed, len(cumulative) - 1)]
    probability = (1.0 - loss) + loss * (rescued or 0.0) * reached
    return round(min(1.0, max(0.0, probability)), 4)
