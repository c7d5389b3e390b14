"""Bounds from the linear relaxation of the CP-SAT model, solved with GLOP.

On overloaded sites CP-SAT's search with two workers rarely moves the bound on scheduled weight
from the trivial one (every patient's weight), although the linear relaxation of the very same
time-indexed model is nearly exact: on generated l overload seed 1 its optimum is 176, the
proven optimum, against a trivial 207; on xl overload seed 1 426.5 against 522 (optimum 426).
So the search asks the relaxation first and adds what it proves as a constraint, which lets
CP-SAT stop as soon as a plan reaches it (docs/PERFORMANCE.md, "Bounds that move").

Every bound is a valid inequality by construction, not by trust in floating point: it is the
Lagrangian bound of the dual values GLOP returns, recomputed here from the constraint rows and
the variable domains (any multipliers give a valid bound; optimal ones give the LP optimum), then
rounded towards the weak side. Constraints the relaxation cannot express linearly, or that are
enforced by a literal, are left out, which only weakens it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ortools.linear_solver import pywraplp
from ortools.sat.python import cp_model

# Rounding a bound computed in floating point towards its weak side by this much (relative to
# its size, plus an absolute part) keeps it valid against summation error.
RELATIVE_SLACK = 1e-9
ABSOLUTE_SLACK = 1e-6


@dataclass
class _Row:
    """One linear row `lower <= sum(coefficient * variable) <= upper` of the relaxation."""

    variables: list[int]
    coefficients: list[float]
    lower: float
    upper: float
    constraint: pywraplp.Constraint


def _terms(expression: cp_model.LinearExprT) -> tuple[dict[int, int], int]:
    """A linear expression as {variable index: coefficient} and a constant."""
    if not isinstance(expression, cp_model.LinearExpr):
        return {}, int(expression)
    flat = cp_model.FlatIntExpr(expression)
    terms: dict[int, int] = {}
    for variable, coefficient in zip(flat.vars, flat.coeffs, strict=True):
        terms[variable.index] = terms.get(variable.index, 0) + coefficient
    return terms, flat.offset


class LinearRelaxation:
    """The linear relaxation of a CP-SAT model as it is now; rows added later stay in it."""

    def __init__(self, model: cp_model.CpModel, leave_out: range = range(0)) -> None:
        """Read the model's variables and constraints, but those at the indices `leave_out`."""
        started = time.monotonic()
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        self.infinity: float = float(self.solver.infinity())
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.columns: list[pywraplp.Variable] = []
        for variable in model.proto.variables:
            domain = list(variable.domain)  # (the proto's own list has no [-1])
            self.lower.append(self._bound(domain[0]))
            self.upper.append(self._bound(domain[-1]))
            self.columns.append(self.solver.NumVar(self.lower[-1], self.upper[-1], ""))
        self.rows: list[_Row] = []
        for index, constraint in enumerate(model.proto.constraints):
            if index in leave_out:
                continue
            if len(constraint.enforcement_literal) > 0:
                continue  # holds only when a literal is true: leaving it out relaxes
            if constraint.has_linear():
                domain = list(constraint.linear.domain)
                self._add_literal_row(
                    list(constraint.linear.vars),
                    list(constraint.linear.coeffs),
                    domain[0],
                    domain[-1],  # a domain with holes relaxes to its hull
                )
            elif constraint.has_bool_or():
                literals = list(constraint.bool_or.literals)
                self._add_literal_row(literals, [1] * len(literals), 1, len(literals))
            elif constraint.has_at_most_one():
                literals = list(constraint.at_most_one.literals)
                self._add_literal_row(literals, [1] * len(literals), 0, 1)
            elif constraint.has_exactly_one():
                literals = list(constraint.exactly_one.literals)
                self._add_literal_row(literals, [1] * len(literals), 1, 1)
            elif constraint.has_bool_and():
                for literal in constraint.bool_and.literals:
                    self._add_literal_row([literal], [1], 1, 1)
        self.build_seconds = time.monotonic() - started
        self.solved = False  # whether the last solve ended optimal (its values can be read)
        self.solves = 0

    def _bound(self, value: float) -> float:
        if value <= -(2**62):
            return -self.infinity
        if value >= 2**62:
            return self.infinity
        return float(value)

    def _add_literal_row(
        self, references: list[int], coefficients: list[int], lower: float, upper: float
    ) -> None:
        """A row over CP-SAT references: a negative one `-i - 1` is `1 - x_i`."""
        variables: list[int] = []
        weights: list[float] = []
        shift = 0
        for reference, coefficient in zip(references, coefficients, strict=True):
            if reference >= 0:
                variables.append(reference)
                weights.append(float(coefficient))
            else:
                variables.append(-reference - 1)
                weights.append(-float(coefficient))
                shift += coefficient
        self.add_row(variables, weights, self._bound(lower) - shift, self._bound(upper) - shift)

    def add_row(
        self, variables: list[int], coefficients: list[float], lower: float, upper: float
    ) -> None:
        """Add `lower <= sum(coefficient * variable) <= upper` (indices of the CP-SAT model)."""
        constraint = self.solver.Constraint(lower, upper)
        merged: dict[int, float] = {}
        for variable, coefficient in zip(variables, coefficients, strict=True):
            merged[variable] = merged.get(variable, 0.0) + coefficient
        for variable, coefficient in merged.items():
            constraint.SetCoefficient(self.columns[variable], coefficient)
        self.rows.append(_Row(list(merged), list(merged.values()), lower, upper, constraint))

    def hold_at_most(self, expression: cp_model.LinearExprT, most: int) -> None:
        """Add `expression <= most` (a level fixed at its value)."""
        terms, constant = _terms(expression)
        self.add_row(
            list(terms), [float(c) for c in terms.values()], -self.infinity, most - constant
        )
        self.solved = False  # the last solution may break the new row: no values until solved again

    def lower_bound(self, expression: cp_model.LinearExprT, seconds: float) -> int | None:
        """A proven lower bound on the integer `expression` over the model, or None if the LP did not finish."""
        if seconds <= 0:
            return None
        terms, constant = _terms(expression)
        objective = self.solver.Objective()
        objective.Clear()
        for variable, coefficient in terms.items():
            objective.SetCoefficient(self.columns[variable], coefficient)
        objective.SetMinimization()
        # A first solve starts from the slack basis, which costs that are all nonnegative make
        # dual feasible: the dual simplex then needs no first phase. On generated xl waitlist
        # seed 1 (starts, suites and staff, rebuilt with weight and plan changes held) it bounds
        # wait days in 9 s against the primal's 31 s, but plan changes (negative costs) in 43 s
        # against 5 s. A later solve starts from the last basis, where the primal is faster.
        dual = self.solves == 0 and all(coefficient >= 0 for coefficient in terms.values())
        self.solver.SetSolverSpecificParametersAsString(f"use_dual_simplex: {str(dual).lower()}")
        self.solves += 1
        self.solver.SetTimeLimit(max(1, round(seconds * 1000)))
        self.solved = self.solver.Solve() == pywraplp.Solver.OPTIMAL
        if not self.solved:
            return None
        bound = self._lagrangian_bound(terms)
        if bound is None:
            return None
        return math.ceil(bound + constant - RELATIVE_SLACK * abs(bound) - ABSOLUTE_SLACK)

    def _lagrangian_bound(self, terms: dict[int, int]) -> float | None:
        """min c.x over the rows and domains, bounded below with the LP's dual values.

        For any multipliers y: c.x = y.(A x) + (c - A^T y).x >= sum_i y_i * (L_i if y_i >= 0
        else U_i) + sum_j min(r_j * lo_j, r_j * hi_j). A multiplier whose side is unbounded is
        dropped (set to 0), which keeps the bound valid.
        """
        reduced = [0.0] * len(self.columns)
        for variable, objective_coefficient in terms.items():
            reduced[variable] += objective_coefficient
        parts: list[float] = []
        for row in self.rows:
            dual = float(row.constraint.dual_value())
            if dual > 0 and row.lower > -self.infinity:
                parts.append(dual * row.lower)
            elif dual < 0 and row.upper < self.infinity:
                parts.append(dual * row.upper)
            else:
                continue
            for variable, coefficient in zip(row.variables, row.coefficients, strict=True):
                reduced[variable] -= dual * coefficient
        for column, cost in enumerate(reduced):
            if cost == 0:
                continue
            ends = (cost * self.lower[column], cost * self.upper[column])
            worst = min(ends)
            if math.isinf(worst) or math.isnan(worst):
                return None  # an unbounded direction: this dual proves nothing
            parts.append(worst)
        return math.fsum(parts)

    def value(self, variable: cp_model.IntVar) -> float:
        """The variable's value in the last relaxation solved."""
        return float(self.columns[variable.index].solution_value())
