"""The lexicographic objective as weighted stages, and each measure's bound read off a weighted bound."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ortools.sat.python import cp_model

from scheduler.problem.measures import MAXIMISED, NEVER_NEGATIVE


@dataclass(frozen=True)
class StagedObjective:
    """What one solve minimises: one measure, or the last measures of the order weighted lexicographically.

    Every measure is minimised (a maximised one negated). Each factor exceeds the whole range of
    the weighted measures after it, so the weighted sum orders solutions exactly as the
    lexicographic order does: one solve (one presolve, one search) instead of one per measure.
    """

    measures: tuple[str, ...]
    expressions: tuple[
        cp_model.LinearExprT, ...
    ]  # each measure's expression, negated when maximised
    factors: tuple[int, ...]
    lowest: tuple[int, ...]  # each expression's smallest value over the variable domains
    highest: tuple[int, ...]  # each expression's largest value over the variable domains
    scales: tuple[int, ...]  # each measure's weight scale
    span: int  # how far apart the weighted sum's smallest and largest values are

    @property
    def expression(self) -> cp_model.LinearExpr:
        """The weighted sum to minimise."""
        return cp_model.LinearExpr.weighted_sum(self.expressions, self.factors)

    def bounds(self, values: list[int], bound: float) -> list[int]:
        """Each measure's lower bound, given a lower bound of the weighted sum and a solution's values.

        A measure's bound holds for every schedule at least as good as `values` on the measures
        before it (the lexicographic reading of a level's bound); at the optimum it equals the value.
        """
        result = []
        for i, factor in enumerate(self.factors):
            before = sum(f * v for f, v in zip(self.factors[:i], values[:i], strict=True))
            after = sum(
                f * h for f, h in zip(self.factors[i + 1 :], self.highest[i + 1 :], strict=True)
            )
            derived = -((before + after - math.ceil(bound - 1e-6)) // factor)  # ceil division
            # Far from the optimum the derived bound is weaker than the obvious one.
            floor = max(self.lowest[i], 0) if self.measures[i] in NEVER_NEGATIVE else self.lowest[i]
            result.append(max(derived, floor))
        return result

    def reported(self, i: int, value: float) -> float:
        """A value of measure `i` as the schedule states it (sign and weight scale restored)."""
        sign = -1 if self.measures[i] in MAXIMISED else 1
        return sign * value / self.scales[i]


def staged_objective(
    model: cp_model.CpModel,
    measures: list[str],
    expressions: dict[str, cp_model.LinearExprT],
    scales: dict[str, int],
) -> StagedObjective:
    minimised = tuple(-expressions[m] if m in MAXIMISED else expressions[m] for m in measures)
    ranges = [_range(model, expression) for expression in minimised]
    factors = [1]
    for lowest, highest in reversed(ranges[1:]):
        factors.insert(0, factors[0] * (highest - lowest + 1))
    span = factors[0] * (ranges[0][1] - ranges[0][0] + 1)
    return StagedObjective(
        tuple(measures),
        minimised,
        tuple(factors),
        tuple(lo for lo, _ in ranges),
        tuple(h for _, h in ranges),
        tuple(scales[m] for m in measures),
        span,
    )


def _range(model: cp_model.CpModel, expression: cp_model.LinearExprT) -> tuple[int, int]:
    """The smallest and largest value of a linear expression over its variables' domains."""
    if not isinstance(expression, cp_model.LinearExpr):
        return int(expression), int(expression)
    flat = cp_model.FlatIntExpr(expression)
    lowest = highest = flat.offset
    for variable, coefficient in zip(flat.vars, flat.coeffs, strict=True):
        domain = list(
            model.proto.variables[variable.index].domain
        )  # (the proto's own list has no [-1])
        ends = (coefficient * domain[0], coefficient * domain[-1])
        lowest, highest = lowest + min(ends), highest + max(ends)
    return lowest, highest


def objective_stages(
    order: list[str],
    model: cp_model.CpModel,
    expressions: dict[str, cp_model.LinearExprT],
    scales: dict[str, int],
    first_alone: bool,
) -> list[StagedObjective]:
    """Every measure weighted into one objective (or the first alone, then the rest);
    one measure at a time if the weights would get too large."""
    together = staged_objective(model, order, expressions, scales)
    if together.span < 2**50:
        if first_alone and len(order) > 1:
            return [
                staged_objective(model, order[:1], expressions, scales),
                staged_objective(model, order[1:], expressions, scales),
            ]
        return [together]
    return [staged_objective(model, [m], expressions, scales) for m in order]
