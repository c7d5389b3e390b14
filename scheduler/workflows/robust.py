"""Robust planning (`solve --robust`): keep suite positions free where sampled failures need rescues.

Method (docs/ROBUST.md): solve deterministically; sample failures, out-of-specification results
and drop-outs of that plan's batches (the rates of `simulate`); per sample, a failed batch needs
a rescue batch in its suite class from its second collection on (two days after the failure is
found, as the simulation's event model), while the failed batch's own position (after
cleaning) and a drop-out's position are given back. The net need per suite class and day, at a
quantile over the samples, becomes a reservation that the model keeps free of uncommitted new
batches; the plan is solved again. When that gives up more than `max_weight_loss` of the
deterministic scheduled weight, lower quantiles are tried, and at last the deterministic plan
is kept (a reservation is worth nothing if it costs the patients it is meant to protect).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock

import numpy as np
from ortools.sat.python import cp_model

from models import Instance, ObjectiveValues, Schedule
from models.timeutil import add_hours, at_clock
from scheduler.explain.commitments import commitment_conflicts
from scheduler.explain.schedule_document import build_schedule
from scheduler.model.build import build_model
from scheduler.model.decode import batch_values, read_batches
from scheduler.model.rescue_cover import CoverWorth, rescue_cover_expression
from scheduler.problem.batches import Batch, assign_positions
from scheduler.problem.measures import MAXIMISED
from scheduler.problem.planning import PlanningProblem, prepare
from scheduler.problem.reservation import (
    RescueReservation,
    ReservedPositions,
    is_committed,
    reserved_room,
)
from scheduler.problem.teams import assign_operators
from scheduler.search.lexicographic import search
from scheduler.search.outcome import LevelOutcome, SearchOutcome, SolveOptions
from scheduler.search.solver_values import all_values, set_hint
from scheduler.search.team_repair import TeamRepair
from scheduler.workflows.simulate import Rates
from scheduler.workflows.solve import solve

RESCUE_GAP_DAYS = 2  # a failed patient's new collection window opens 2 days after (simulate)
CLEANING_DAYS = 1  # a stopped batch's position is back after its cleaning (changeover)


@dataclass(frozen=True)
class RobustConfig:
    """How the rescue reservation is sized and how much nominal weight it may cost."""

    rates: Rates = field(default_factory=Rates)
    samples: int = 500
    quantile: float = 0.8  # reserve k positions on a day when P(need >= k) > 1 - quantile
    max_weight_loss: float = 0.02  # of the deterministic scheduled weight
    attempts: int = 3  # quantiles tried: quantile, quantile - 0.1, ... (never below 0.5)
    seed: int = 0
    # "soft" (default): scheduled weight and plan changes held at the deterministic optimum,
    # free rescue capacity rewarded; "reserve": the hard reservation under max_weight_loss.
    method: str = "soft"
    wait_slack: float = 0.02  # soft: wait_days may grow by this share of the deterministic value
    soft_time_limit: float = 60.0  # soft: seconds for the robustness level (all its re-solves)
    # soft: least gain in expected rescue needs covered worth moving the plan for (a plan moved
    # for a negligible gain only reshuffles it: measured on m normal, docs/ROBUST.md)
    min_cover_gain: float = 0.5

    def quantiles(self) -> list[float]:
        """The quantiles tried, the configured one first."""
        ladder = [round(self.quantile - 0.1 * k, 6) for k in range(self.attempts)]
        return [q for q in ladder if q >= 0.5] or [self.quantile]


@dataclass(frozen=True)
class _PlannedBatch:
    """What the sizing needs of one assignment of the deterministic plan, in horizon days."""

    class_index: int
    start: int
    occupied_days: int  # ceil of (manufacturing + changeover) in days
    end: int  # manufacturing_end date
    release: int
    delivery_after_start: int
    lead_days: int  # collection to start
    anchor: int  # drop-outs are drawn from here (collection or start) to release
    rates: tuple[float, float, float]  # failure, out of specification, drop-out
    hospital: int = 0  # index in instance.hospitals: where the rescue's second collection is


def _planned_batches(
    problem: PlanningProblem, schedule: Schedule, rates: Rates
) -> list[_PlannedBatch]:
    instance = problem.instance
    day = problem.calendar.day
    class_of = {
        member: suite_class.index
        for suite_class in problem.builder.classes
        for member in suite_class.members
    }
    product_of = {p.id: p.product for p in instance.patients} | {
        b.patient: b.product for b in instance.in_progress
    }
    table = rates.per_product(instance)
    hospital_index = {h.id: i for i, h in enumerate(instance.hospitals)}
    hospital_of = {p.id: p.hospital for p in instance.patients} | {
        b.patient: b.hospital for b in instance.in_progress
    }
    batches = []
    for assignment in schedule.assignments:
        product = instance.product_by_id[product_of[assignment.patient]]
        row = table[product.id]
        start = day(assignment.manufacturing_start.date())
        hours = product.manufacturing_hours + product.changeover_hours
        collected = assignment.apheresis_date
        lead = 1 if collected is None else max(1, start - day(collected))
        batches.append(
            _PlannedBatch(
                class_of[(assignment.suite, assignment.position)],
                start,
                math.ceil(hours / 24),
                day(assignment.manufacturing_end.date()),
                day(assignment.release_date),
                day(assignment.delivery_date) - start,
                lead,
                max(0, start - lead if collected is not None else start),
                (row["failure_rate"], row["out_of_spec_rate"], row["dropout_rate"]),
                hospital_index[hospital_of[assignment.patient]],
            )
        )
    return batches


def rescue_need(
    problem: PlanningProblem, schedule: Schedule, rates: Rates, samples: int, seed: int
) -> np.ndarray:
    """Sampled net rescue need: array [sample, suite class, horizon day] (see `rescue_samples`)."""
    return rescue_samples(problem, schedule, rates, samples, seed).positions


@dataclass(frozen=True)
class RescueSamples:
    """Sampled rescue needs of one plan, per sample (axis 0)."""

    positions: np.ndarray  # [sample, suite class, day]: net suite positions wanted
    starts: np.ndarray  # [sample, day]: rescue manufacturing starts wanted
    chairs: np.ndarray  # [sample, hospital, day]: second collections wanted (window's first day)


def rescue_samples(
    problem: PlanningProblem, schedule: Schedule, rates: Rates, samples: int, seed: int
) -> RescueSamples:
    """Sampled net rescue need: [sample, suite class, horizon day] of positions wanted, and
    the rescues' manufacturing starts per day and second collections per hospital and day.: array [sample, suite class, horizon day] of positions wanted.

    A manufacturing failure is found part-way through manufacturing, an out-of-specification
    batch on its release date (as `simulate` draws them); its rescue starts `lead` days after a
    collection two days later and holds a position as long as the first batch did, if it can
    still be delivered in the horizon. Positions given back (the failed batch's after cleaning,
    a drop-out's) offset the need in the same class.
    """
    days = problem.calendar.days
    classes = len(problem.builder.classes)
    need = np.zeros((samples, classes, days), dtype=np.int32)
    start_need = np.zeros((samples, days), dtype=np.int32)
    chair_need = np.zeros((samples, len(problem.instance.hospitals), days), dtype=np.int32)
    batches = _planned_batches(problem, schedule, rates)
    for sample in range(samples):
        rng = np.random.default_rng([seed, sample])
        draws = rng.random((len(batches), 4))
        rescue = np.zeros((classes, days), dtype=np.int32)
        freed = np.zeros((classes, days), dtype=np.int32)
        for batch, (fail_u, fraction, drop_u, drop_fraction) in zip(batches, draws, strict=True):
            failure, out_of_spec, dropout = batch.rates
            until = batch.start + batch.occupied_days
            found: int | None = None
            if fail_u < failure:
                span = max(1, batch.end - batch.start)
                found = batch.start + max(1, math.ceil(fraction * span))
            elif fail_u < failure + out_of_spec:
                found = batch.release
            if drop_u < dropout:
                dropped = batch.anchor + int(drop_fraction * max(1, batch.release - batch.anchor))
                if found is None or dropped < found:
                    # A drop-out gives its position back (after cleaning) and needs no rescue.
                    freed[batch.class_index, max(0, dropped + CLEANING_DAYS) : max(0, until)] += 1
                    continue
            if found is None or found < 0:
                continue  # no failure, or one found before the horizon (not this plan's)
            freed[batch.class_index, max(0, found + CLEANING_DAYS) : max(0, until)] += 1
            rescue_start = found + RESCUE_GAP_DAYS + batch.lead_days
            if rescue_start + batch.delivery_after_start < days:
                rescue[batch.class_index, rescue_start : rescue_start + batch.occupied_days] += 1
                start_need[sample, rescue_start] += 1
                chair_need[sample, batch.hospital, found + RESCUE_GAP_DAYS] += 1
        need[sample] = np.maximum(0, rescue - freed)
    return RescueSamples(need, start_need, chair_need)


def reservation_from_need(
    problem: PlanningProblem, need: np.ndarray, quantile: float
) -> RescueReservation:
    """Per suite class and day the `quantile` of the sampled need (at most the class), as windows of equal days."""
    level = np.quantile(need, quantile, axis=0, method="inverted_cdf").astype(int)
    windows: list[ReservedPositions] = []
    for suite_class in problem.builder.classes:
        row = np.minimum(level[suite_class.index], suite_class.capacity)
        first = 0
        for day in range(1, len(row) + 1):
            if day == len(row) or row[day] != row[first]:
                if row[first] > 0:
                    windows.append(
                        ReservedPositions(
                            suite_class.index,
                            _midnight(problem, problem.calendar.date(first)),
                            _midnight(problem, problem.calendar.date(day)),
                            int(row[first]),
                        )
                    )
                first = day
    return RescueReservation(tuple(windows))


def _midnight(problem: PlanningProblem, day: date) -> datetime:
    return at_clock(day, datetime.min.time(), problem.calendar.zone)


def keeps_reservation(
    problem: PlanningProblem, schedule: Schedule, reservation: RescueReservation
) -> bool:
    """Whether a plan already leaves every reserved position free of uncommitted new batches.

    Then it is kept as it is: re-solving would only pick another plan of the same value (a
    different tie-break), not a more robust one. Counted as the model counts
    (`keep_suite_positions_for_rescues`): running batches hold positions, committed patients
    are not counted.
    """
    instance = problem.instance
    class_of = {m: c.index for c in problem.builder.classes for m in c.members}
    capacity = {c.index: c.capacity for c in problem.builder.classes}
    patients = {p.id: p for p in instance.patients}
    product_of = {p.id: p.product for p in instance.patients} | {
        b.patient: b.product for b in instance.in_progress
    }
    running: list[tuple[int, datetime, datetime]] = []
    uncommitted: list[tuple[int, datetime, datetime]] = []
    for a in schedule.assignments:
        product = instance.product_by_id[product_of[a.patient]]
        until = add_hours(a.manufacturing_end, product.changeover_hours, problem.calendar.zone)
        occupancy = (class_of[(a.suite, a.position)], a.manufacturing_start, until)
        if a.in_progress:
            running.append(occupancy)
        elif not is_committed(patients[a.patient]):
            uncommitted.append(occupancy)
    for window in reservation.suites:
        held_by = [o for o in running if o[0] == window.class_index]
        new = [o for o in uncommitted if o[0] == window.class_index]
        instants = {window.start} | {o[1] for o in new if window.start <= o[1] < window.end}
        for instant in instants:
            held = sum(1 for _, start, until in held_by if start <= instant < until)
            busy = sum(1 for _, start, until in new if start <= instant < until)
            if busy > reserved_room(capacity[window.class_index], held, window.positions):
                return False
    return True


def _weight(schedule: Schedule) -> float:
    return float(schedule.objective.scheduled_weight) if schedule.objective else 0.0


def _spec_bounds(instance: Instance, robust: Schedule, deterministic: Schedule) -> None:
    """Bounds valid for the instance (not only for the reserved model); status FEASIBLE unless equal.

    The reserved model's bounds hold for plans that keep the reservation only. The deterministic
    solve's bounds hold on every level up to the first where the robust plan is worse (the
    levels above are equal, so their conditions match); below it the trivial bound.
    """
    if robust.objective is None or deterministic.objective is None or deterministic.bound is None:
        return
    values, reference = robust.objective.model_dump(), deterministic.objective.model_dump()
    if values == reference and robust.status == "OPTIMAL":
        return  # the reserved model's proven optimum is the instance's optimum
    bound = robust.objective.model_dump()
    det_bound = deterministic.bound.model_dump()
    differs = False
    for measure in instance.objective_order:
        if differs:
            total = sum(p.weight for p in instance.patients)
            bound[measure] = total if measure in MAXIMISED else 0
        else:
            bound[measure] = det_bound[measure]
            differs = values[measure] != reference[measure]
    robust.bound = ObjectiveValues(**bound)
    robust.status = "FEASIBLE"


def solve_robust(
    instance: Instance, options: SolveOptions | None = None, config: RobustConfig | None = None
) -> Schedule:
    """A valid plan that keeps suite positions free for likely rescues, within the weight budget."""
    options = options or SolveOptions()
    config = config or RobustConfig()
    if config.method == "soft":
        return solve_soft(instance, options, config)
    if config.method != "reserve":
        raise ValueError(f"unknown robust method {config.method!r} (soft or reserve)")
    started = time.monotonic()
    deterministic = solve(instance, options)
    report: dict[str, object] = {
        "method": "reserved suite positions sized by sampled failures (docs/ROBUST.md)",
        "rates": config.rates.per_product(instance),
        "samples": config.samples,
        "seed": config.seed,
        "max_weight_loss": config.max_weight_loss,
        "deterministic_objective": (
            deterministic.objective.model_dump() if deterministic.objective else None
        ),
        "attempts": [],
        "quantile": None,
        "reserved_positions": [],
    }
    chosen = deterministic
    if deterministic.status in ("OPTIMAL", "FEASIBLE"):
        problem = prepare(instance)
        need = rescue_need(problem, deterministic, config.rates, config.samples, config.seed)
        members = {
            c.index: [f"{suite}/{position}" for suite, position in c.members]
            for c in problem.builder.classes
        }
        floor = _weight(deterministic) * (1 - config.max_weight_loss)
        attempts: list[dict[str, object]] = []
        for quantile in config.quantiles():
            reservation = reservation_from_need(problem, need, quantile)
            if reservation.is_empty():
                attempts.append({"quantile": quantile, "reserved_windows": 0})
                break  # lower quantiles reserve nothing either
            if keeps_reservation(problem, deterministic, reservation):
                # The deterministic plan already leaves these positions free: keep it.
                attempts.append({"quantile": quantile, "deterministic_plan_keeps_it": True})
                report["quantile"] = quantile
                report["reserved_positions"] = reservation.to_dict(members.__getitem__)
                break
            robust = solve(instance, options, reservation)
            weight = _weight(robust) if robust.status in ("OPTIMAL", "FEASIBLE") else -1.0
            attempts.append(
                {
                    "quantile": quantile,
                    "reserved_windows": len(reservation.to_dict(members.__getitem__)),
                    "status": robust.status,
                    "scheduled_weight": weight,
                }
            )
            if weight >= floor - 1e-9:
                _spec_bounds(instance, robust, deterministic)
                chosen = robust
                report["quantile"] = quantile
                report["reserved_positions"] = reservation.to_dict(members.__getitem__)
                break
        report["attempts"] = attempts
    chosen.solve_seconds = round(time.monotonic() - started, 3)
    chosen.robust = report  # type: ignore[attr-defined]
    return chosen


SOFT_SCALE = 1000  # P(need >= k) in thousandths
MAX_TEAM_REPAIRS = 20  # exact-team re-solves of the robustness level before giving up


def _worth(counts: np.ndarray, most: int) -> list[int]:
    """Worth of the 1st, 2nd, ... free unit: P(sampled need >= k), in thousandths (non-increasing)."""
    top = min(most, int(counts.max())) if counts.size else 0
    return [round(SOFT_SCALE * float(np.mean(counts >= k))) for k in range(1, top + 1)]


def soft_worths(problem: PlanningProblem, sampled: RescueSamples) -> CoverWorth:
    """Per (suite class, day), per day and per (hospital, day): the worth of each free unit."""
    need, start_need = sampled.positions, sampled.starts
    positions: dict[tuple[int, int], list[int]] = {}
    for suite_class in problem.builder.classes:
        for day in range(problem.calendar.days):
            worth = _worth(need[:, suite_class.index, day], suite_class.capacity)
            if any(worth):
                positions[(suite_class.index, day)] = worth
    limit = problem.instance.site.max_starts_per_day
    starts: dict[int, list[int]] = {}
    if limit is not None:
        for day in range(problem.calendar.days):
            worth = _worth(start_need[:, day], limit)
            if any(worth):
                starts[day] = worth
    chairs: dict[tuple[str, int], list[int]] = {}
    for index, hospital in enumerate(problem.instance.hospitals):
        for day in range(problem.calendar.days):
            most = hospital.free_chairs_on(problem.calendar.date(day))
            worth = _worth(sampled.chairs[:, index, day], most)
            if any(worth):
                chairs[(hospital.id, day)] = worth
    return CoverWorth(positions, starts, chairs)


def solve_soft(instance: Instance, options: SolveOptions, config: RobustConfig) -> Schedule:
    """The soft robust plan (see `solve_soft_pair`)."""
    return solve_soft_pair(instance, options, config)[1]


def solve_soft_pair(
    instance: Instance, options: SolveOptions, config: RobustConfig
) -> tuple[Schedule, Schedule]:
    """The deterministic plan and the soft robust plan made from it (the same plan when kept).

    The soft robust plan: the deterministic optimum's scheduled weight and plan changes held,
    wait days within `wait_slack`, and the expected sampled rescue need covered by free suite
    positions and free manufacturing starts maximised (docs/ROBUST.md, "Soft method").

    Falls back to the deterministic plan whenever the robustness level finds nothing better or
    its plan cannot be staffed; it never gives up scheduled weight.
    """
    started = time.monotonic()
    problem = prepare(instance)
    report: dict[str, object] = {
        "method": "soft: weight and plan changes held, free rescue capacity rewarded "
        "(docs/ROBUST.md)",
        "rates": config.rates.per_product(instance),
        "samples": config.samples,
        "seed": config.seed,
        "wait_slack": config.wait_slack,
        "reserved_positions": [],
    }
    if commitment_conflicts(problem):
        schedule = solve(instance, options)
        report["kept_deterministic"] = "commitments conflict"
        schedule.robust = report  # type: ignore[attr-defined]
        return schedule, schedule
    outcome = search(problem, options, started)
    if outcome.status != "SOLVED":
        schedule = solve(instance, options)
        report["kept_deterministic"] = f"deterministic search {outcome.status}"
        schedule.robust = report  # type: ignore[attr-defined]
        return schedule, schedule
    assign_positions(outcome.batches, problem.builder.classes)
    deterministic = build_schedule(problem, outcome, time.monotonic() - started)
    report["deterministic_objective"] = (
        deterministic.objective.model_dump() if deterministic.objective else None
    )
    sampled = rescue_samples(problem, deterministic, config.rates, config.samples, config.seed)
    worths = soft_worths(problem, sampled)
    batches, details = _robustness_level(problem, outcome, options, config, worths)
    report.update(details)
    if batches is None:
        chosen = deterministic.model_copy(deep=True)
    else:
        chosen = build_schedule(problem, chosen_outcome(outcome, problem, batches), 0.0)
    chosen.solve_seconds = round(time.monotonic() - started, 3)
    chosen.robust = report  # type: ignore[attr-defined]
    return deterministic, chosen


def chosen_outcome(
    deterministic: SearchOutcome, problem: PlanningProblem, batches: list[Batch]
) -> SearchOutcome:
    """The deterministic outcome's levels with the robust plan's values (bounds stay valid)."""
    values = problem.measure_values(batches)
    levels = [
        LevelOutcome(
            level.measure,
            values[level.measure],
            level.bound,
            level.proven and values[level.measure] == level.value,
            level.seconds,
            level.first_solution_seconds,
            level.team_repairs,
        )
        for level in deterministic.levels
    ]
    return SearchOutcome(
        "SOLVED", levels, batches, deterministic.first_schedule_seconds, deterministic.steady
    )


def _best_completion(
    model: cp_model.CpModel, decisions: dict[int, int], cover: cp_model.LinearExprT
) -> cp_model.CpSolver | None:
    """The deterministic plan in the soft model, its free capacity counted at its best."""
    fixed = model.clone()
    fixed.clear_hints()  # type: ignore[no-untyped-call]
    for index, value in decisions.items():
        domain = fixed.proto.variables[index].domain
        domain.clear()
        domain.extend([value, value])
    fixed.maximize(cover)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_time_in_seconds = 30.0
    if solver.solve(fixed) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return solver


def _robustness_level(
    problem: PlanningProblem,
    outcome: SearchOutcome,
    options: SolveOptions,
    config: RobustConfig,
    worths: CoverWorth,
) -> tuple[list[Batch] | None, dict[str, object]]:
    """Maximise the covered rescue need with the SPEC levels held; the new batches or None."""
    details: dict[str, object] = {
        "need_cells": {
            "positions": len(worths.positions),
            "starts": len(worths.starts),
            "chairs": len(worths.chairs),
        }
    }
    if worths.is_empty():
        details["kept_deterministic"] = "no rescue need sampled"
        return None, details
    calendar = problem.calendar
    plan, measures, shift_loads = build_model(problem)
    noon = [at_clock(calendar.date(d), clock(12), calendar.zone) for d in range(calendar.days)]
    cover = rescue_cover_expression(plan, problem.instance, noon, worths)
    model = plan.model
    fixed = _best_completion(model, batch_values(plan, outcome.batches, calendar), cover)
    if fixed is None:
        details["kept_deterministic"] = "deterministic plan not completed in the soft model"
        return None, details
    held = {name: round(fixed.value(expression)) for name, expression in measures.items()}
    before = round(fixed.value(cover))  # what the deterministic plan's free capacity covers
    model.add(measures["scheduled_weight"] >= held["scheduled_weight"])
    model.add(measures["plan_changes"] <= held["plan_changes"])
    model.add(
        measures["wait_days"]
        <= held["wait_days"] + math.floor(config.wait_slack * held["wait_days"])
    )
    model.maximize(cover)
    hint = all_values(fixed)
    teams = TeamRepair(problem, plan, shift_loads, hint_from_rejected=False)
    deadline = time.monotonic() + config.soft_time_limit
    details["cover_scale"] = SOFT_SCALE
    details["cover_deterministic"] = before
    repairs = 0
    while True:
        # The deterministic plan is staffable and meets every held level: always a solution.
        set_hint(model, hint)
        solver = cp_model.CpSolver()
        # A quarter of the level's time per solve: room left for the exact-team re-solves.
        solver.parameters.max_time_in_seconds = max(
            1.0, min(config.soft_time_limit / 4, deadline - time.monotonic())
        )
        solver.parameters.num_workers = options.workers
        solver.parameters.random_seed = options.seed
        status = solver.solve(model)
        details["soft_status"] = solver.status_name(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            details["kept_deterministic"] = "robustness level found no plan in time"
            return None, details
        after = round(solver.objective_value)
        details["cover_robust"] = after
        details["cover_bound"] = round(solver.best_objective_bound)
        if after - before < config.min_cover_gain * SOFT_SCALE:
            details["kept_deterministic"] = (
                "the deterministic plan covers nearly as much (gain below min_cover_gain)"
            )
            return None, details
        batches = read_batches(plan, solver, calendar)
        failed = assign_operators(batches, problem.instance, problem.roster)
        if not failed:
            break
        # The aggregate operator rule (C6) let an unstaffable shift through: model those
        # shifts exactly and solve again, as the lexicographic search does.
        repairs += 1
        details["team_repairs"] = repairs
        if repairs > MAX_TEAM_REPAIRS or time.monotonic() >= deadline:
            details["kept_deterministic"] = "robust plan cannot be staffed (C6)"
            return None, details
        teams.model_exactly(failed)
    assign_positions(batches, problem.builder.classes)
    return batches, details
