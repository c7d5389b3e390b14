"""Disruption simulation: how a published plan holds up when batches fail and patients drop out.

Each run samples disruptions from the rates (`rates.py`, sources in docs/SIMULATION.md) with a
numpy Generator seeded from (seed, run index) (`sampling.py`), plays the horizon forward from
one disruption day to the next with the event model of `replan` (`play.py`), lets the policy
react (`replan`: CP-SAT from the current plan; `repair`: a fast insertion that moves nobody
else, `hold.py`) and reports, beside the policy, two references on the same sampled runs: doing
nothing and clairvoyant (`clairvoyant.py`). `runner.py` maps runs over local processes (or any
other mapper, e.g. a Celery group) and assembles the report (`metrics.py`); `html.py` draws it.
"""

from __future__ import annotations

from scheduler.workflows.simulate.rates import POLICIES, Rates
from scheduler.workflows.simulate.runner import (
    RunMapper,
    SimulationConfig,
    local_mapper,
    run_chunk,
    simulate,
    strip_timing,
)

__all__ = [
    "POLICIES",
    "Rates",
    "RunMapper",
    "SimulationConfig",
    "local_mapper",
    "run_chunk",
    "simulate",
    "strip_timing",
]
