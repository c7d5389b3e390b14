"""Moving values between plans and CP-SAT models: hints, and completions with some variables fixed."""

from __future__ import annotations

from ortools.sat.python import cp_model


def complete_values(
    model: cp_model.CpModel, decisions: dict[int, int], seconds: float
) -> dict[int, int] | None:
    """Every variable's value given the decisions (the rest follows from them), or None."""
    solver = solve_fixed(model, decisions, seconds)
    return None if solver is None else all_values(solver)


def all_values(solver: cp_model.CpSolver) -> dict[int, int]:
    # The response lists every variable's value by proto index: one copy, no call per variable.
    return dict(enumerate(solver.response_proto.solution))


def solve_fixed(
    model: cp_model.CpModel,
    decisions: dict[int, int],
    seconds: float,
    also: cp_model.BoundedLinearExpression | bool | None = None,
    minimise: bool = False,
) -> cp_model.CpSolver | None:
    """A feasible completion of the model with these variables fixed (same variable indices), or None.

    `also` is one more constraint for this solve only; with `minimise` the completion is the best
    the solve finds on the model's objective rather than any.
    """
    fixed = model.clone()
    if not minimise:
        fixed.clear_objective()  # type: ignore[no-untyped-call]
    fixed.clear_hints()  # type: ignore[no-untyped-call]
    if also is not None:
        fixed.add(also)
    for index, value in decisions.items():
        domain = fixed.proto.variables[index].domain
        domain.clear()
        domain.extend([value, value])
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = seconds
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver


def set_hint(model: cp_model.CpModel, values: dict[int, int]) -> None:
    model.clear_hints()  # type: ignore[no-untyped-call]
    # Written straight into the proto: add_hint per variable costs seconds on the largest sites.
    hint = model.proto.solution_hint
    hint.vars.extend(values.keys())
    hint.values.extend(values.values())
