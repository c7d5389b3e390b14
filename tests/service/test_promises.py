"""The on-time estimator of availability's promises (api.services.promises), on a hand-made report.

No server: the estimator is a lookup in numbers computed once from the report, so its values
can be checked by hand.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from api.services.promises import on_time_probability, promise_model


def _report(delays: list[list[int]], failed: list[int], rescued: list[int]) -> dict[str, Any]:
    """A report with only what the estimator reads: per run the policy's rescues, and the rates."""
    runs = [
        {"run": i, "policy": {"rescue_delay_days": d, "failed_batches": f, "rescued_patients": r}}
        for i, (d, f, r) in enumerate(zip(delays, failed, rescued, strict=True))
    ]
    rates = {"cilta": {"failure_rate": 0.1, "out_of_spec_rate": 0.1, "dropout_rate": 0.08}}
    return {"runs": runs, "config": {"rates_applied": {"per_product": rates}}}


RELEASE, DELIVERY = date(2027, 1, 20), date(2027, 1, 22)  # two days from release to delivery


def test_the_model_holds_the_loss_per_product_the_rescued_share_and_the_delay_table() -> None:
    """loss = 1 - 0.9 * 0.9; 3 of 4 failures rescued; rescue delays 10, 12, 20 cumulated per day."""
    model = promise_model("sim1", _report([[10, 12], [20], []], [2, 1, 1], [2, 1, 0]))
    assert model["loss"] == {"cilta": pytest.approx(0.19)}
    assert model["rescued_fraction"] == pytest.approx(0.75)
    cdf = model["rescue_delay_cdf"]
    assert len(cdf) == 21 and cdf[9] == 0 and cdf[10] == pytest.approx(1 / 3)
    assert cdf[12] == pytest.approx(2 / 3) and cdf[19] == pytest.approx(2 / 3) and cdf[20] == 1


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (None, 0.81 + 0.19 * 0.75),  # no window end: any rescue is on time
        (date(2027, 2, 9), 0.81 + 0.19 * 0.75),  # 18 + 2 days >= every delay
        (date(2027, 2, 1), 0.81 + 0.19 * 0.75 * 2 / 3),  # 10 + 2 days: delays 10 and 12 fit
        (date(2027, 1, 30), 0.81 + 0.19 * 0.75 * 1 / 3),  # 8 + 2 days: only the delay of 10
        (date(2027, 1, 28), 0.81),  # 6 + 2 days: no rescue arrives in time
        (date(2027, 1, 22), 0.81),  # no slack: a lost batch is late
    ],
)
def test_an_offer_is_on_time_when_its_batch_succeeds_or_its_rescue_arrives_in_the_window(
    latest: date | None, expected: float
) -> None:
    """P = (1 - loss) + loss * rescued * F(slack + release-to-delivery days)."""
    model = promise_model("sim1", _report([[10, 12], [20], []], [2, 1, 1], [2, 1, 0]))
    found = on_time_probability(model, "cilta", RELEASE, DELIVERY, latest)
    assert found == pytest.approx(expected, abs=1e-4)


def test_without_rescues_or_for_an_unknown_product() -> None:
    """No failure in the simulation: a lost batch counts as late; an unknown product: no estimate."""
    model = promise_model("sim2", _report([[], []], [0, 0], [0, 0]))
    assert model["rescued_fraction"] is None and model["rescue_delay_cdf"] == []
    assert on_time_probability(model, "cilta", RELEASE, DELIVERY, None) == pytest.approx(0.81)
    assert on_time_probability(model, "other-cel", RELEASE, DELIVERY, None) is None
