"""A time-indexed MILP of the same SPEC, solved with HiGHS: the model an OR team would write.

One file on purpose (over 500 lines): it is a second, independent model of the whole SPEC, read
top to bottom beside `scheduler/model/`, and nothing in the product imports it.

Same candidates as CP-SAT (`scheduler.problem.options.OptionBuilder.patient_options`): one binary per
(patient, start shift slot, pooled suite class), one per (patient, apheresis date), one per
(batch, assay, lab day), an integer per (date, shift, product, flexible step) count and an
integer delivery day per patient. Rules as rows:

- C1/C3 one start and one collection iff scheduled; the start within that collection's window;
- C2 chairs per hospital and date; C4 starts per date;
- C5 per class and start instant, the batches occupying it fit its positions (time-indexed);
- C6 exactly, per (operator, date, shift, step kind): an integer share of that kind's steps,
  at most one per step, the shares covering every step's team, hours within the shift. A
  shift whose largest possible load a quick fill already staffs gets no rows (any smaller
  load is a subset of it, so it is staffed too): exact, just smaller;
- C7 assay days per lab capacity; C8–C10 delivery >= every link of the release chain.

The objective is lexicographic like CP-SAT's: solve the first measure, fix it at its value,
solve the next, and so on; the time limit is shared the way CP-SAT shares it.

    python benchmarks/milp.py INSTANCE.json [--time-limit 60] [--threads 2]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import highspy

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import Instance, Operator, Schedule, load_instance, to_json
from models.instance import Step
from models.timeutil import weekday_name
from scheduler.explain.commitments import commitment_conflicts
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import (
    Batch,
    PlannedAssay,
    PlannedStep,
    assign_positions,
    set_release_and_delivery,
)
from scheduler.problem.measures import MAXIMISED
from scheduler.problem.planning import PlanningProblem, prepare
from scheduler.search.outcome import LevelOutcome, SearchOutcome

HOURS_SCALE = 100  # hours in hundredths: integer rows, like the CP-SAT model

Terms = dict[int, float]
Kind = tuple[str, str]  # (product id, step id)


@dataclass
class LinearModel:
    """Columns and rows of a MILP, built before handing it to HiGHS."""

    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)
    rows: list[tuple[float, float, Terms]] = field(default_factory=list)

    def var(self, lower: float, upper: float) -> int:
        """A new integer column; its index."""
        self.lower.append(lower)
        self.upper.append(upper)
        return len(self.lower) - 1

    def add(self, terms: Terms, lower: float = -math.inf, upper: float = math.inf) -> None:
        """A row `lower <= terms <= upper` (constant terms belong in the bounds)."""
        self.rows.append((lower, upper, {k: v for k, v in terms.items() if v}))


def plus(*parts: Terms, scale: float = 1.0) -> Terms:
    """The sum of linear terms, times `scale`."""
    total: Terms = defaultdict(float)
    for part in parts:
        for index, coefficient in part.items():
            total[index] += coefficient * scale
    return dict(total)


def minus(terms: Terms, scale: float = 1.0) -> Terms:
    """`-scale * terms`."""
    return {index: -coefficient * scale for index, coefficient in terms.items()}


@dataclass
class ShiftLoad:
    """The steps of one (date, shift): per kind, a count (terms + constant) and its largest value."""

    terms: dict[Kind, Terms] = field(default_factory=lambda: defaultdict(dict))
    constant: dict[Kind, int] = field(default_factory=lambda: defaultdict(int))
    most: dict[Kind, int] = field(default_factory=lambda: defaultdict(int))
    steps: dict[Kind, Step] = field(default_factory=dict)

    def add(self, kind: Kind, step: Step, terms: Terms, constant: int, most: int) -> None:
        """`terms + constant` (at most `most`) more steps of this kind."""
        self.terms[kind] = plus(self.terms[kind], terms)
        self.constant[kind] += constant
        self.most[kind] += most
        self.steps[kind] = step


@dataclass
class MilpModel:
    """The MILP of one instance, with the column indices named after what they decide."""

    problem: PlanningProblem
    model: LinearModel = field(default_factory=LinearModel)
    scheduled: dict[str, int] = field(default_factory=dict)
    start: dict[tuple[str, int, int], int] = field(default_factory=dict)  # (patient, option, class)
    apheresis: dict[tuple[str, date], int] = field(default_factory=dict)
    assay: dict[tuple[str, int], dict[int, int]] = field(
        default_factory=dict
    )  # (owner, assay) -> day -> col
    step_count: dict[tuple[date, str, Kind], int] = field(default_factory=dict)
    delivery: dict[str, int] = field(default_factory=dict)
    loads: dict[tuple[date, str], ShiftLoad] = field(default_factory=dict)
    # (date, shift) -> kind -> operator -> share column (shifts modelled exactly)
    shares: dict[tuple[date, str], dict[Kind, dict[str, int]]] = field(default_factory=dict)
    # (date, shift) -> kind -> teams for the largest load (shifts a quick fill staffs)
    filled: dict[tuple[date, str], dict[Kind, list[list[str]]]] = field(default_factory=dict)
    measures: dict[str, Terms] = field(default_factory=dict)

    def starts_of(self, patient_id: str, option_index: int) -> Terms:
        """'The patient starts with this option' (any class)."""
        option = self.patient_options[patient_id].starts[option_index]
        return {self.start[(patient_id, option_index, c)]: 1.0 for c in option.classes}

    def starts_on_day(self, patient_id: str) -> dict[int, Terms]:
        """Per start day: 'the patient starts that day'."""
        by_day: dict[int, Terms] = defaultdict(dict)
        for index, option in enumerate(self.patient_options[patient_id].starts):
            by_day[option.slot.day] = plus(
                by_day[option.slot.day], self.starts_of(patient_id, index)
            )
        return by_day

    def __post_init__(self) -> None:
        self.patient_options = {p.patient.id: p for p in self.problem.patients}


# ----- building ------------------------------------------------------------------------------


def build_milp(problem: PlanningProblem) -> MilpModel:
    """The MILP of rules C1–C11 and the three measures."""
    milp = MilpModel(problem)
    add_choices(milp)
    add_chairs(milp)
    add_daily_starts(milp)
    add_suite_capacity(milp)
    add_qc(milp)
    add_delivery(milp)
    add_operators(milp)
    add_measures(milp)
    return milp


def add_choices(milp: MilpModel) -> None:
    """C1/C3: one start and one collection iff scheduled; the start fits the chosen collection."""
    model = milp.model
    for options in milp.problem.patients:
        patient_id = options.patient.id
        scheduled = milp.scheduled[patient_id] = model.var(0, 1 if options.starts else 0)
        for index, option in enumerate(options.starts):
            for class_index in option.classes:
                milp.start[(patient_id, index, class_index)] = model.var(0, 1)
        every_start = plus(*(milp.starts_of(patient_id, i) for i in range(len(options.starts))))
        model.add(plus(every_start, {scheduled: -1.0}), 0, 0)
        if not options.uses_chair:
            continue  # collected_on: the collection already happened (SPEC 8)
        for day in options.apheresis_dates:
            milp.apheresis[(patient_id, day)] = model.var(0, 1)
        collections = {milp.apheresis[(patient_id, d)]: 1.0 for d in options.apheresis_dates}
        model.add(plus(collections, {scheduled: -1.0}), 0, 0)
        for index, option in enumerate(options.starts):
            compatible = {milp.apheresis[(patient_id, d)]: 1.0 for d in option.apheresis_dates}
            model.add(plus(milp.starts_of(patient_id, index), minus(compatible)), upper=0)


def add_chairs(milp: MilpModel) -> None:
    """C2: the plan's collections plus `booked_elsewhere` fit the weekday's chairs."""
    by_day: dict[tuple[str, date], Terms] = defaultdict(dict)
    for (patient_id, day), column in milp.apheresis.items():
        hospital = milp.patient_options[patient_id].hospital
        by_day[(hospital.id, day)][column] = 1.0
    for (hospital_id, day), terms in by_day.items():
        hospital = milp.problem.instance.hospital_by_id[hospital_id]
        chairs = hospital.apheresis_capacity.get(weekday_name(day), 0)  # type: ignore[call-overload]
        free = chairs - hospital.booked_elsewhere.get(day, 0)
        if len(terms) > free:
            milp.model.add(terms, upper=free)


def add_daily_starts(milp: MilpModel) -> None:
    """C4: new starts plus in-progress starts dated inside the horizon within the daily limit."""
    limit = milp.problem.instance.site.max_starts_per_day
    if limit is None:
        return
    calendar = milp.problem.calendar
    fixed: dict[int, int] = defaultdict(int)
    for commitment in milp.problem.commitments:
        if commitment.start >= calendar.horizon_start:
            fixed[calendar.day(commitment.start.date())] += 1
    by_day: dict[int, Terms] = defaultdict(dict)
    for options in milp.problem.patients:
        for day, terms in milp.starts_on_day(options.patient.id).items():
            by_day[day] = plus(by_day[day], terms)
    for day, terms in by_day.items():
        if len(terms) + fixed[day] > limit:
            milp.model.add(terms, upper=limit - fixed[day])


def add_suite_capacity(milp: MilpModel) -> None:
    """C5: at every start instant of a class, the batches occupying it fit its positions."""
    problem = milp.problem
    occupants: dict[int, list[tuple[object, object, int]]] = defaultdict(list)
    for (patient_id, index, class_index), column in milp.start.items():
        option = milp.patient_options[patient_id].starts[index]
        occupants[class_index].append((option.slot.start, option.occupied_until, column))
    for suite_class in problem.builder.classes:
        new = occupants.get(suite_class.index, [])
        fixed = [
            (c.start, c.occupied_until)
            for c in problem.commitments
            if c.class_index == suite_class.index
        ]
        instants = sorted({s for s, _, _ in new} | {s for s, _ in fixed})  # type: ignore[type-var]
        for instant in instants:
            busy = {column: 1.0 for s, u, column in new if s <= instant < u}  # type: ignore[operator]
            held = sum(1 for s, u in fixed if s <= instant < u)
            if len(busy) + held > suite_class.capacity:
                milp.model.add(busy, upper=suite_class.capacity - held)


def add_qc(milp: MilpModel) -> None:
    """C7: each assay on one lab day its sample allows; starts per day and assay within capacity."""
    problem, model = milp.problem, milp.model
    per_day: dict[tuple[int, str], Terms] = defaultdict(dict)
    for options in problem.patients:
        patient_id = options.patient.id
        on_day = milp.starts_on_day(patient_id)
        for assay_index, assay in enumerate(options.product.qc_assays):
            # The allowed lab days depend on the start day only: which start days allow each lab day.
            choices = {option.slot.day: option.assay_days[assay_index] for option in options.starts}
            allowing: dict[int, Terms] = defaultdict(dict)
            for start_day, days in choices.items():
                for day in days:
                    allowing[day] = plus(allowing[day], on_day[start_day])
            columns = {day: model.var(0, 1) for day in sorted(allowing)}
            milp.assay[(patient_id, assay_index)] = columns
            for day, column in columns.items():
                model.add(plus({column: 1.0}, minus(allowing[day])), upper=0)
                per_day[(day, assay.id)][column] = 1.0
            model.add(
                plus({c: 1.0 for c in columns.values()}, {milp.scheduled[patient_id]: -1.0}), 0, 0
            )
    for commitment in problem.commitments:
        latest = commitment_latest(milp, commitment)
        after_release = commitment.product.qp_release_days + commitment.hospital.return_transit_days
        for assay_index, remaining in enumerate(commitment.assays):
            if remaining.started_before_horizon:
                continue  # SPEC C11: started on its sample date, uses no lab capacity
            columns = {
                day: model.var(
                    0, 1 if day + remaining.assay.duration_days + after_release <= latest else 0
                )
                for day in remaining.allowed_days
            }
            milp.assay[(commitment.batch.patient, assay_index)] = columns
            model.add({c: 1.0 for c in columns.values()}, 1, 1)
            for day, column in columns.items():
                per_day[(day, remaining.assay.id)][column] = 1.0
    lab = problem.instance.qc_lab
    for (day, assay_id), terms in per_day.items():
        capacity = lab.capacity_on(assay_id, problem.calendar.date(day))
        if len(terms) > capacity:
            model.add(terms, upper=capacity)


def commitment_latest(milp: MilpModel, commitment: object) -> int:
    """The last day an in-progress batch may be delivered (horizon and its own window)."""
    calendar = milp.problem.calendar
    latest = calendar.days - 1
    window = commitment.batch.infusion_window  # type: ignore[attr-defined]
    if window is not None and window.latest is not None:
        latest = min(latest, calendar.day(window.latest))
    return latest


def add_delivery(milp: MilpModel) -> None:
    """C8–C10: delivery >= every link of the release chain, within the window and the horizon."""
    problem, model = milp.problem, milp.model
    last_day = problem.calendar.days - 1
    for options in problem.patients:
        patient_id = options.patient.id
        scheduled = milp.scheduled[patient_id]
        window = options.patient.infusion_window
        latest = (
            last_day
            if window.latest is None
            else min(last_day, problem.calendar.day(window.latest))
        )
        delivery = milp.delivery[patient_id] = model.var(0, max(latest, 0))
        model.add({delivery: 1.0, scheduled: -float(last_day)}, upper=0)
        model.add(
            {delivery: 1.0, scheduled: -float(problem.calendar.day(window.earliest))}, lower=0
        )
        by_start = {
            column: -float(option.earliest_delivery)
            for index, option in enumerate(options.starts)
            for column in milp.starts_of(patient_id, index)
        }
        model.add(plus({delivery: 1.0}, by_start), lower=0)
        after_release = options.product.qp_release_days + options.hospital.return_transit_days
        for assay_index, assay in enumerate(options.product.qc_assays):
            ends = {
                c: -float(day + assay.duration_days + after_release)
                for day, c in milp.assay[(patient_id, assay_index)].items()
            }
            model.add(plus({delivery: 1.0}, ends), lower=0)


def add_operators(milp: MilpModel) -> None:
    """C6: steps into shifts; per shift either no rows (its largest load is staffable) or exact shares."""
    problem = milp.problem
    collect_shift_loads(milp)
    for (day, shift_id), load in milp.loads.items():
        operators = problem.roster.on_shift(day, shift_id)
        hours = scaled(problem.instance.shift_by_id[shift_id].hours)
        teams = fill_teams(
            {kind: load.most[kind] for kind in load.steps}, load.steps, operators, hours
        )
        if teams is not None:
            milp.filled[(day, shift_id)] = teams
        else:
            add_exact_shares(milp, (day, shift_id), load, operators, hours)


def collect_shift_loads(milp: MilpModel) -> None:
    """Each (date, shift)'s step counts: day-0 steps in the start shift, later ones in a chosen shift."""
    problem, model, calendar = milp.problem, milp.model, milp.problem.calendar
    flexible: dict[tuple[date, Kind], tuple[Step, Terms, int, int]] = {}

    def need(day: date, kind: Kind, step: Step, terms: Terms, constant: int) -> None:
        # One patient reaches a (date, kind) through one start day only: each call adds at most one step.
        _, old_terms, old_constant, most = flexible.get((day, kind), (step, {}, 0, 0))
        flexible[(day, kind)] = (step, plus(old_terms, terms), old_constant + constant, most + 1)

    def load_of(day: date, shift_id: str) -> ShiftLoad:
        return milp.loads.setdefault((day, shift_id), ShiftLoad())

    for options in problem.patients:
        product = options.product
        for index, option in enumerate(options.starts):
            for step in product.steps:
                if step.day_offset == 0:
                    load_of(option.slot.date, option.slot.shift_id).add(
                        (product.id, step.id), step, milp.starts_of(options.patient.id, index), 0, 1
                    )
        for start_day, terms in milp.starts_on_day(options.patient.id).items():
            for step in product.steps:
                if step.day_offset > 0:
                    need(
                        calendar.date(start_day + step.day_offset),
                        (product.id, step.id),
                        step,
                        terms,
                        0,
                    )
    for commitment in problem.commitments:
        for remaining in commitment.steps:
            kind = (commitment.product.id, remaining.step.id)
            if remaining.fixed_shift is not None:
                load_of(remaining.date, remaining.fixed_shift).add(kind, remaining.step, {}, 1, 1)
            else:
                need(remaining.date, kind, remaining.step, {}, 1)
    for (day, kind), (step, terms, constant, most) in flexible.items():
        shifts = [
            s.id
            for s in problem.instance.site.shifts
            if step.hours <= s.hours
            and problem.roster.can_staff(day, s.id, step.skill, step.operators)
        ]
        counts: Terms = {}
        for shift_id in shifts:
            column = milp.step_count[(day, shift_id, kind)] = model.var(0, most)
            counts[column] = 1.0
            load_of(day, shift_id).add(kind, step, {column: 1.0}, 0, most)
        model.add(plus(counts, minus(terms)), constant, constant)


def add_exact_shares(
    milp: MilpModel, slot: tuple[date, str], load: ShiftLoad, operators: list[Operator], hours: int
) -> None:
    """Exact C6 for one shift: how many steps of each kind every operator does.

    A kind done `n` times needs `operators * n` operator places, each operator in at most `n`
    of them (never twice in one step); such shares always split into `n` teams of distinct
    operators (see `teams_from_shares`), so the rows are exact.
    """
    model = milp.model
    per_operator: dict[str, Terms] = defaultdict(dict)
    milp.shares[slot] = {}
    for kind, step in load.steps.items():
        count = load.terms[kind]
        constant = load.constant[kind]
        qualified = [op for op in operators if step.skill in op.skills]
        shares = {}
        for op in qualified:
            most = min(hours // scaled(step.hours), load.most[kind])
            share = shares[op.id] = model.var(0, most)
            model.add(plus({share: 1.0}, minus(count)), upper=constant)
            per_operator[op.id][share] = float(scaled(step.hours))
        milp.shares[slot][kind] = shares
        covered = plus({s: 1.0 for s in shares.values()}, minus(count, step.operators))
        model.add(covered, constant * step.operators, constant * step.operators)
    for terms in per_operator.values():
        model.add(terms, upper=hours)


def add_measures(milp: MilpModel) -> None:
    """`scheduled_weight`, `plan_changes`, `wait_days` (weights times the problem's scale)."""
    problem = milp.problem
    weight: Terms = {}
    changes: Terms = defaultdict(float)
    wait: Terms = defaultdict(float)
    for options in problem.patients:
        patient = options.patient
        scheduled = milp.scheduled[patient.id]
        w = round(patient.weight * problem.scale)
        weight[scheduled] = float(w)
        earliest = problem.calendar.day(patient.apheresis_window.earliest)
        wait[milp.delivery[patient.id]] += w
        wait[scheduled] -= w * earliest
        previous = patient.previous_apheresis_date
        if previous is None:
            continue
        if not options.uses_chair:
            if patient.collected_on != previous:
                changes[scheduled] += 1
            continue
        changes[scheduled] += 1
        kept = milp.apheresis.get((patient.id, previous))
        if kept is not None:
            changes[kept] -= 1
    milp.measures = {
        "scheduled_weight": weight,
        "plan_changes": dict(changes),
        "wait_days": dict(wait),
    }


def scaled(hours: float) -> int:
    """Hours as integer hundredths."""
    return round(hours * HOURS_SCALE)


def fill_teams(
    counts: dict[Kind, int], steps: dict[Kind, Step], operators: list[Operator], hours: int
) -> dict[Kind, list[list[str]]] | None:
    """Teams for `counts` steps of each kind: scarcest skills first, each to those with most hours left; None if the fill fails."""
    left = {op.id: hours for op in operators}
    teams: dict[Kind, list[list[str]]] = {kind: [] for kind in counts}
    qualified = {
        kind: [op.id for op in operators if steps[kind].skill in op.skills] for kind in counts
    }
    for kind in sorted(counts, key=lambda k: (len(qualified[k]), -steps[k].hours, k)):
        need = scaled(steps[kind].hours)
        for _ in range(counts[kind]):
            able = [op for op in qualified[kind] if left[op] >= need]
            if len(able) < steps[kind].operators:
                return None
            team = sorted(able, key=lambda op: (-left[op], op))[: steps[kind].operators]
            for op in team:
                left[op] -= need
            teams[kind].append(sorted(team))
    return teams


def teams_from_shares(count: int, size: int, shares: dict[str, int]) -> list[list[str]]:
    """Split operator shares (each <= count, summing to count * size) into `count` teams of distinct operators.

    Lay the operators out one after another, each repeated by its share, and deal the places
    round-robin over the steps: an operator's places are consecutive and at most `count`, so
    they land in different steps.
    """
    places = [op for op in sorted(shares) for _ in range(shares[op])]
    teams: list[list[str]] = [[] for _ in range(count)]
    for position, op in enumerate(places):
        teams[position % count].append(op)
    assert all(len(team) == size for team in teams), "shares do not cover every team"
    return [sorted(team) for team in teams]


# ----- solving -------------------------------------------------------------------------------


@dataclass
class MilpRun:
    """What a lexicographic HiGHS solve reached, for the schedule and the benchmark."""

    status: str  # "SOLVED", "INFEASIBLE" or "UNKNOWN"
    levels: list[LevelOutcome] = field(default_factory=list)
    values: list[float] = field(default_factory=list)  # the last solution's columns
    first_solution_seconds: float | None = None  # since the solve started
    columns: int = 0
    rows: int = 0
    integers_in_exact_shifts: int = 0


def to_highs(model: LinearModel, threads: int) -> highspy.Highs:
    """A HiGHS instance holding the model (rowwise matrix, every column integer)."""
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
    highs.setOptionValue("mip_rel_gap", 0.0)
    highs.setOptionValue(
        "mip_abs_gap", 0.999
    )  # every objective is integral: a gap below 1 is a proof
    lp = highspy.HighsLp()
    lp.num_col_ = len(model.lower)
    lp.num_row_ = len(model.rows)
    lp.col_cost_ = [0.0] * lp.num_col_
    lp.col_lower_ = model.lower
    lp.col_upper_ = model.upper
    lp.row_lower_ = [lower for lower, _, _ in model.rows]
    lp.row_upper_ = [upper for _, upper, _ in model.rows]
    starts, indices, values = [0], [], []
    for _, _, terms in model.rows:
        for index, coefficient in sorted(terms.items()):
            indices.append(index)
            values.append(coefficient)
        starts.append(len(indices))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = starts
    lp.a_matrix_.index_ = indices
    lp.a_matrix_.value_ = values
    lp.integrality_ = [highspy.HighsVarType.kInteger] * lp.num_col_
    highs.passModel(lp)
    return highs


def on_first_solution(highs: highspy.Highs, started: float, run: MilpRun) -> None:
    """Record when HiGHS finds its first incumbent (the first valid schedule: every row is exact)."""

    def improving(*_: object) -> None:
        if run.first_solution_seconds is None:
            run.first_solution_seconds = time.monotonic() - started

    if hasattr(highs, "cbMipImprovingSolution"):  # highspy >= 1.8
        highs.cbMipImprovingSolution.subscribe(improving)
    else:  # highspy 1.7
        highs.setCallback(
            lambda kind, *rest: (
                improving()
                if kind == highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution
                else None
            ),
            None,
        )
        highs.startCallback(highspy.cb.HighsCallbackType.kCallbackMipImprovingSolution)


def solve_levels(milp: MilpModel, time_limit: float, threads: int, started: float) -> MilpRun:
    """Optimise the measures in `objective.order` one after another, fixing each at its value."""
    model = milp.model
    highs = to_highs(model, threads)
    run = MilpRun(
        "UNKNOWN",
        columns=len(model.lower),
        rows=len(model.rows),
        integers_in_exact_shifts=sum(
            len(s) for kinds in milp.shares.values() for s in kinds.values()
        ),
    )
    on_first_solution(highs, started, run)
    order = list(milp.problem.instance.objective_order)
    deadline = started + time_limit * 0.97 - 0.2  # like CP-SAT: keep time to build the schedule
    for position, measure in enumerate(order):
        level_started = time.monotonic()
        remaining = deadline - level_started
        if remaining <= 0.05:
            break
        # Like CP-SAT: an unproven level must not starve the ones after it.
        budget = remaining if position == len(order) - 1 or not run.values else remaining * 0.5
        sign = -1.0 if measure in MAXIMISED else 1.0
        costs = [0.0] * len(model.lower)
        for index, coefficient in milp.measures[measure].items():
            costs[index] = sign * coefficient
        highs.changeColsCost(len(costs), list(range(len(costs))), costs)
        highs.setOptionValue("time_limit", max(budget, 0.05))
        if run.values:
            start = highspy.HighsSolution()
            start.col_value = run.values
            start.value_valid = True
            highs.setSolution(start)
        highs.run()
        status = highs.getModelStatus()
        info = highs.getInfo()
        if status == highspy.HighsModelStatus.kInfeasible and not run.levels:
            run.status = "INFEASIBLE"
            return run
        if info.primal_solution_status != 2:  # no feasible solution in this level's time
            break
        run.values = list(highs.getSolution().col_value)
        objective = round(sign * info.objective_function_value)
        proven = status == highspy.HighsModelStatus.kOptimal
        bound = objective if proven else sign * info.mip_dual_bound
        if not math.isfinite(bound):
            # Time ran out before HiGHS had any dual bound: the trivial one (every patient's
            # weight; zero changes or wait days).
            bound = sum(c for c in milp.measures[measure].values() if c > 0) if sign < 0 else 0
        # The bound of an integral objective rounds toward the value.
        bound = math.floor(bound + 1e-6) if sign < 0 else math.ceil(bound - 1e-6)
        scale = milp.problem.scale if measure != "plan_changes" else 1
        run.levels.append(
            LevelOutcome(
                measure,
                objective / scale,
                bound / scale,
                proven or bound == objective,
                time.monotonic() - level_started,
                run.first_solution_seconds,
            )
        )
        run.status = "SOLVED"
        # Later levels only among schedules at least this good on this measure.
        terms = milp.measures[measure]
        if sign < 0:
            highs.addRow(
                objective, highspy.kHighsInf, len(terms), list(terms), list(terms.values())
            )
        else:
            highs.addRow(
                -highspy.kHighsInf, objective, len(terms), list(terms), list(terms.values())
            )
    return run


# ----- reading the solution ------------------------------------------------------------------


def read_batches(milp: MilpModel, values: list[float]) -> list[Batch]:
    """The batches of a solution, steps in their shifts and teams assigned."""
    problem, calendar = milp.problem, milp.problem.calendar
    chosen = {column for column, value in enumerate(values) if value > 0.5}
    batches: list[Batch] = []
    flexible: dict[tuple[date, Kind], list[PlannedStep]] = defaultdict(list)
    for options in problem.patients:
        patient = options.patient
        if milp.scheduled[patient.id] not in chosen:
            continue
        index, class_index = next(
            (i, c) for (p, i, c), col in milp.start.items() if p == patient.id and col in chosen
        )
        option = options.starts[index]
        apheresis = patient.collected_on
        if options.uses_chair:
            apheresis = next(
                d for d in options.apheresis_dates if milp.apheresis[(patient.id, d)] in chosen
            )
        steps = []
        for step in options.product.steps:
            planned = PlannedStep(
                step, calendar.date(option.slot.day + step.day_offset), option.slot.shift_id
            )
            steps.append(planned)
            if step.day_offset > 0:
                flexible[(planned.date, (options.product.id, step.id))].append(planned)
        assays = [
            PlannedAssay(
                assay,
                option.slot.day + assay.sample_day_offset,
                chosen_day(milp, patient.id, i, chosen),
            )
            for i, assay in enumerate(options.product.qc_assays)
        ]
        batch = Batch(
            patient.id,
            False,
            options.product,
            options.hospital,
            apheresis,
            option.slot.start,
            option.end,
            option.occupied_until,
            option.end_day,
            class_index,
            steps,
            assays,
        )
        set_release_and_delivery(batch, patient.infusion_window, calendar)
        batches.append(batch)
    for commitment in problem.commitments:
        owner = commitment.batch.patient
        steps = []
        for remaining in commitment.steps:
            planned = PlannedStep(remaining.step, remaining.date, remaining.fixed_shift or "")
            steps.append(planned)
            if remaining.fixed_shift is None:
                flexible[(remaining.date, (commitment.product.id, remaining.step.id))].append(
                    planned
                )
        assays = [
            PlannedAssay(
                r.assay,
                calendar.day(r.sample_date),
                calendar.day(r.sample_date)
                if r.started_before_horizon
                else chosen_day(milp, owner, i, chosen),
            )
            for i, r in enumerate(commitment.assays)
        ]
        batch = Batch(
            owner,
            True,
            commitment.product,
            commitment.hospital,
            None,
            commitment.start,
            commitment.end,
            commitment.occupied_until,
            commitment.end_day,
            commitment.class_index,
            steps,
            assays,
            commitment.batch.suite,
            commitment.batch.position,
        )
        set_release_and_delivery(batch, commitment.batch.infusion_window, calendar)
        batches.append(batch)
    spread_flexible_steps(milp, values, flexible)
    assign_teams(milp, values, batches)
    return batches


def chosen_day(milp: MilpModel, owner: str, assay_index: int, chosen: set[int]) -> int:
    """The lab day an assay starts on."""
    return next(day for day, column in milp.assay[(owner, assay_index)].items() if column in chosen)


def spread_flexible_steps(
    milp: MilpModel, values: list[float], flexible: dict[tuple[date, Kind], list[PlannedStep]]
) -> None:
    """Steps of one kind on one date are interchangeable: fill the shifts to the solved counts."""
    for (day, kind), planned in flexible.items():
        queue = list(planned)
        for (count_day, shift_id, count_kind), column in sorted(milp.step_count.items()):
            if (count_day, count_kind) == (day, kind):
                for _ in range(round(values[column])):
                    queue.pop(0).shift_id = shift_id
        assert not queue, f"step counts do not cover {kind} on {day}"


def assign_teams(milp: MilpModel, values: list[float], batches: list[Batch]) -> None:
    """Teams from the solved shares (exact shifts) or from the fill of the largest load (the others)."""
    by_slot: dict[tuple[date, str], dict[Kind, list[PlannedStep]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for batch in batches:
        for planned in batch.steps:
            by_slot[(planned.date, planned.shift_id)][(batch.product.id, planned.step.id)].append(
                planned
            )
    for slot, kinds in by_slot.items():
        for kind, planned in kinds.items():
            if slot in milp.shares:
                shares = {
                    op: round(values[column]) for op, column in milp.shares[slot][kind].items()
                }
                teams = teams_from_shares(
                    len(planned),
                    planned[0].step.operators,
                    {op: n for op, n in shares.items() if n},
                )
            else:
                teams = milp.filled[slot][kind][: len(planned)]
            for step, team in zip(planned, teams, strict=True):
                step.operators = team


# ----- the schedule --------------------------------------------------------------------------


@dataclass
class MilpResult:
    """The schedule and the figures of one MILP solve."""

    schedule: Schedule
    run: MilpRun | None
    build_seconds: float


def solve_milp(instance: Instance, time_limit: float = 60.0, threads: int = 2) -> MilpResult:
    """Solve an instance with the MILP within the time limit; a `cart-schedule/1` schedule like CP-SAT's."""
    started = time.monotonic()
    problem = prepare(instance)
    conflicts = commitment_conflicts(problem)
    if conflicts:
        return MilpResult(
            build_schedule(problem, None, time.monotonic() - started, infeasibility=conflicts),
            None,
            0.0,
        )
    milp = build_milp(problem)
    build_seconds = time.monotonic() - started
    run = solve_levels(milp, time_limit, threads, started)
    if run.status != "SOLVED":
        outcome = SearchOutcome(run.status)
        return MilpResult(
            build_schedule(problem, outcome, time.monotonic() - started), run, build_seconds
        )
    batches = read_batches(milp, run.values)
    assign_positions(batches, problem.builder.classes)
    outcome = SearchOutcome("SOLVED", run.levels, batches, run.first_solution_seconds)
    return MilpResult(
        build_schedule(problem, outcome, time.monotonic() - started), run, build_seconds
    )


def main(argv: list[str] | None = None) -> int:
    """Solve one instance file with the MILP and print the schedule."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("instance", type=Path)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    instance = load_instance(args.instance)
    print(to_json(solve_milp(instance, args.time_limit, args.threads).schedule))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
