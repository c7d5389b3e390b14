"""Bounds on the later SPEC measures from the structure of the problem alone (issue 18, item 3).

When scheduled weight comes first and has reached a value W, every plan the later levels may
still choose schedules a set of new patients of weight at least W. Each patient has a fewest
wait days it can have (its earliest possible delivery, over all its starts, from the opening of
its collection window) and either can or cannot keep its communicated apheresis date at all. The
cheapest set of weight W, counted by those per-patient floors and ignoring capacity, is a
fractional knapsack solved by sorting; its value is a valid lower bound on each later measure,
conditional on the weight (SPEC 8, "Objective and bounds"). It is weak when capacity binds, but
it exists on every site in microseconds, so no level is left with the trivial bound of 0 when
the linear relaxation (`relaxation.py`) has no time to finish.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from scheduler.problem.options import PatientOptions
from scheduler.problem.planning import PlanningProblem


def _fewest_scaled_cost(items: list[tuple[int, Fraction]], weight_needed: int) -> int:
    """min sum(cost) over sets of (weight, cost per unit of weight) items of weight >= weight_needed,
    fractions of items allowed, rounded up (the measure is an integer in these units)."""
    if weight_needed <= 0:
        return 0
    total = Fraction(0)
    for weight, unit_cost in sorted(items, key=lambda item: item[1]):
        taken = min(weight, weight_needed)
        total += unit_cost * taken
        weight_needed -= taken
        if weight_needed <= 0:
            break
    # If even everyone is not enough, no plan reaches the weight: any bound is valid; keep the sum.
    return math.ceil(total)


def _cheapest_weight(
    problem: PlanningProblem,
    weight_at_least: float,
    unit_cost: Callable[[PatientOptions, int], Fraction],
) -> int:
    """The fewest total cost of new patients of weight >= `weight_at_least` (weights scaled),
    each patient's cost per unit of its scaled weight given by `unit_cost`."""
    items: list[tuple[int, Fraction]] = []
    for options in problem.patients:
        weight = round(options.patient.weight * problem.scale)
        if weight > 0 and options.starts:
            items.append((weight, unit_cost(options, weight)))
    needed = math.ceil(Fraction(str(weight_at_least)) * problem.scale)
    return _fewest_scaled_cost(items, needed)


def wait_days_floor(problem: PlanningProblem, weight_at_least: float) -> float:
    """A lower bound on `wait_days` over plans scheduling new-patient weight >= `weight_at_least`."""

    def fewest_days(options: PatientOptions, weight: int) -> Fraction:
        # wait_days weighs each day by the weight: per unit of weight the cost is the days.
        opens = problem.calendar.day(options.patient.apheresis_window.earliest)
        infusion_opens = problem.calendar.day(options.patient.infusion_window.earliest)
        return Fraction(
            min(max(o.earliest_delivery, infusion_opens) for o in options.starts) - opens
        )

    return _cheapest_weight(problem, weight_at_least, fewest_days) / problem.scale


def plan_changes_floor(problem: PlanningProblem, weight_at_least: float) -> int:
    """A lower bound on `plan_changes` over plans scheduling new-patient weight >= `weight_at_least`:
    the weight beyond what patients free to keep their date can bring comes from patients who cannot."""

    def change_per_weight(options: PatientOptions, weight: int) -> Fraction:
        previous = options.patient.previous_apheresis_date
        if options.uses_chair:
            must_change = previous is not None and previous not in options.apheresis_dates
        else:
            must_change = previous is not None and options.patient.collected_on != previous
        # One change buys the patient's whole weight.
        return Fraction(1, weight) if must_change else Fraction(0)

    return _cheapest_weight(problem, weight_at_least, change_per_weight)
