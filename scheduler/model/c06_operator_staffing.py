"""C6 steps: every step staffed by enough qualified, rostered operators within their shift hours."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from models import Instance
from models.instance import Step
from scheduler.model.variables import PlanVariables
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.roster import Roster

HOURS_SCALE = 100  # hours are fractional; CP-SAT needs integers (0.01 h resolution)


def scaled_hours(hours: float) -> int:
    """Hours as integer hundredths."""
    return round(hours * HOURS_SCALE)


@dataclass
class ShiftLoad:
    """The steps one (date, shift) must staff: per (product, step), a count expression."""

    date: date
    shift_id: str
    counts: dict[tuple[str, str], list[cp_model.LinearExprT]] = field(
        default_factory=lambda: defaultdict(list)
    )
    most: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    steps: dict[tuple[str, str], Step] = field(default_factory=dict)
    totals: dict[tuple[str, str], cp_model.LinearExprT] = field(default_factory=dict)

    def add(self, product_id: str, step: Step, count: cp_model.LinearExprT, most: int) -> None:
        """Add `count` (at most `most`) steps of this kind to the shift."""
        self.counts[(product_id, step.id)].append(count)
        self.most[(product_id, step.id)] += most
        self.steps[(product_id, step.id)] = step

    def close(self, model: cp_model.CpModel) -> None:
        """One count per step kind, so every bound below refers to a single term."""
        for kind, terms in self.counts.items():
            if len(terms) == 1:
                self.totals[kind] = terms[0]
            else:
                total = model.new_int_var(
                    0, self.most[kind], f"load[{self.date},{self.shift_id},{kind[0]},{kind[1]}]"
                )
                model.add(total == sum(terms))
                self.totals[kind] = total


def add_operator_staffing(
    plan: PlanVariables,
    instance: Instance,
    calendar: SiteCalendar,
    roster: Roster,
    bounded: bool = True,
) -> dict[tuple[date, str], ShiftLoad]:
    """C6: place flexible steps into shifts and keep every shift's demand within its team.

    Day-0 steps run in the start shift; later steps may use any shift of their date. Demand
    is bounded per skill subset by the hours of operators holding any of those skills (a
    Hall-type condition). That bound is necessary, not sufficient (hours come in whole
    steps); a shift where no team assignment exists afterwards gets `add_exact_shift_team`.
    """
    loads = _shift_loads(plan, instance, calendar, roster)
    for (_, shift_id), load in loads.items() if bounded else []:
        _add_skill_hall_bounds(
            plan.model, load, roster, scaled_hours(instance.shift_by_id[shift_id].hours)
        )
    return loads


def _shift_loads(
    plan: PlanVariables, instance: Instance, calendar: SiteCalendar, roster: Roster
) -> dict[tuple[date, str], ShiftLoad]:
    model = plan.model
    loads: dict[tuple[date, str], ShiftLoad] = {}

    def load_of(day: date, shift_id: str) -> ShiftLoad:
        return loads.setdefault((day, shift_id), ShiftLoad(day, shift_id))

    # Steps whose shift is still to choose: (date, product, step) -> literals and fixed count.
    flexible: dict[tuple[date, str, str], list[cp_model.LinearExprT]] = defaultdict(list)
    step_by_key: dict[tuple[date, str, str], Step] = {}
    for options in plan.patients:
        product = options.product
        for index, option in enumerate(options.starts):
            literals = plan.starts(options.patient.id, index)
            for step in product.steps:
                if step.day_offset == 0:
                    day = calendar.date(option.slot.day)
                    load_of(day, option.slot.shift.id).add(product.id, step, sum(literals), 1)
        for start_day, on_day in plan.starts_on_day.get(options.patient.id, {}).items():
            for step in product.steps:
                if step.day_offset > 0:
                    day = calendar.date(start_day + step.day_offset)
                    flexible[(day, product.id, step.id)].append(on_day)
                    step_by_key[(day, product.id, step.id)] = step
    for commitment in plan.commitments:
        for remaining in commitment.steps:
            if remaining.fixed_shift is not None:
                load_of(remaining.date, remaining.fixed_shift).add(
                    commitment.product.id, remaining.step, 1, 1
                )
            else:
                flexible[(remaining.date, commitment.product.id, remaining.step.id)].append(1)
                step_by_key[(remaining.date, commitment.product.id, remaining.step.id)] = (
                    remaining.step
                )
    for key, terms in flexible.items():
        day, product_id, step_id = key
        step = step_by_key[key]
        shifts = [
            shift.id
            for shift in instance.site.shifts
            if step.hours <= shift.hours
            and roster.can_staff(day, shift.id, step.skill, step.operators)
        ]
        needed = len(terms)
        in_shift = []
        for shift_id in shifts:
            count = model.new_int_var(0, needed, f"steps[{day},{shift_id},{product_id},{step_id}]")
            plan.step_count[(calendar.day(day), shift_id, product_id, step_id)] = count
            load_of(day, shift_id).add(product_id, step, count, needed)
            in_shift.append(count)
        model.add(sum(in_shift) == sum(terms))
    for load in loads.values():
        load.close(model)
    return loads


def _dual_feasible(hours: int, shift_hours: int, k: int | None) -> int:
    """Fekete–Schepers dual-feasible function u_k: any steps fitting one shift still fit after rounding."""
    if k is None or ((k + 1) * hours) % shift_hours == 0:
        return hours
    return (((k + 1) * hours) // shift_hours) * shift_hours // k


def _add_skill_hall_bounds(
    model: cp_model.CpModel, load: ShiftLoad, roster: Roster, shift_hours: int
) -> None:
    """For every set of skills, the hours they need fit the hours of operators holding one of them."""
    kinds = list(load.steps)
    skills = sorted({load.steps[kind].skill for kind in kinds})
    bit = {skill: 1 << i for i, skill in enumerate(skills)}
    # Operators as bit masks of the skills this shift needs: a subset's capacity is a sum over
    # the few distinct masks, not over every operator (this runs for every shift of the horizon).
    holding: dict[int, int] = defaultdict(int)
    for op in roster.on_shift(load.date, load.shift_id):
        holding[sum(bit[skill] for skill in op.skills if skill in bit)] += 1
    for kind in kinds:
        step = load.steps[kind]
        qualified = sum(count for mask, count in holding.items() if mask & bit[step.skill])
        per_operator = shift_hours // scaled_hours(step.hours)
        # Each operator does at most `per_operator` of these steps, and never twice the same one.
        if load.most[kind] * step.operators > qualified * per_operator:
            model.add(load.totals[kind] * step.operators <= qualified * per_operator)
    every = (1 << len(skills)) - 1
    subsets = range(1, every + 1) if len(skills) <= 6 else [*bit.values(), every]
    # Plain hours, then dual-feasible rounding: whole steps do not split across operators.
    rounded = [
        {
            kind: _dual_feasible(scaled_hours(load.steps[kind].hours), shift_hours, rounding)
            * load.steps[kind].operators
            for kind in kinds
        }
        for rounding in (None, 1, 2, 3)
    ]
    # Each subset's most hours under each rounding, summed over subsets once (a subset is its
    # lowest skill plus a smaller subset): a bound binds only if these exceed its capacity.
    most_hours = [
        _subset_sums(
            [
                sum(
                    by_kind[kind] * load.most[kind]
                    for kind in kinds
                    if load.steps[kind].skill == skill
                )
                for skill in skills
            ],
            subsets,
        )
        for by_kind in rounded
    ]
    capacities = {
        subset: shift_hours * sum(count for mask, count in holding.items() if mask & subset)
        for subset in subsets
    }
    seen: set[tuple[object, int]] = set()
    for subset in _closed_skill_sets(capacities, list(bit.values())):
        capacity = capacities[subset]
        kinds_in: list[tuple[str, str]] | None = None
        for by_kind, by_subset in zip(rounded, most_hours, strict=True):
            if by_subset[subset] <= capacity:
                continue  # cannot bind
            kinds_in = kinds_in or [kind for kind in kinds if bit[load.steps[kind].skill] & subset]
            weights = tuple((kind, by_kind[kind]) for kind in kinds_in)
            if (weights, capacity) in seen:
                continue  # already stated
            seen.add((weights, capacity))
            model.add(sum(load.totals[kind] * w for kind, w in weights) <= capacity)


def _closed_skill_sets(capacities: dict[int, int], bits: list[int]) -> list[int]:
    """The skill sets (bit masks) whose every one-skill extension adds operators' hours.

    A set with the same capacity as a larger one needs no bound of its own: the larger set's
    bound has the same right-hand side and more (nonnegative) terms, so it implies it, and it
    is stated whenever the smaller one could bind. About half the Hall rows on the m sites.
    """
    return [
        subset
        for subset, capacity in capacities.items()
        if all(capacities.get(subset | b) != capacity for b in bits if not subset & b)
    ]


def _subset_sums(values: list[int], subsets: Iterable[int]) -> dict[int, int]:
    """For every bit mask in `subsets`, the sum of the `values` it selects."""
    sums = {0: 0}
    for subset in subsets:
        lowest = subset & -subset
        rest = subset ^ lowest  # listed earlier when every subset is listed in increasing order
        if rest not in sums:
            sums[rest] = sum(value for i, value in enumerate(values) if rest >> i & 1)
        sums[subset] = sums[rest] + values[lowest.bit_length() - 1]
    return sums


def add_exact_shift_team(
    model: cp_model.CpModel, load: ShiftLoad, roster: Roster, instance: Instance
) -> None:
    """Exact C6 for one shift: how many steps of each kind every operator does.

    A step kind done `n` times needs `operators * n` operator-slots, each operator filling at
    most `n` of them (never twice in one step); such counts can always be split into `n`
    teams of distinct operators, so this is exact.
    """
    operators = roster.on_shift(load.date, load.shift_id)
    shift_hours = scaled_hours(instance.shift_by_id[load.shift_id].hours)
    per_operator: dict[str, list[cp_model.LinearExprT]] = defaultdict(list)
    for kind, step in load.steps.items():
        total = load.totals[kind]
        qualified = [op for op in operators if step.skill in op.skills]
        shares = []
        for op in qualified:
            upper = shift_hours // scaled_hours(step.hours)
            share = model.new_int_var(
                0, upper, f"share[{load.date},{load.shift_id},{op.id},{kind}]"
            )
            model.add(share <= total)
            shares.append(share)
            per_operator[op.id].append(share * scaled_hours(step.hours))
        model.add(sum(shares) == total * step.operators)
    for hours in per_operator.values():
        model.add(sum(hours) <= shift_hours)


def add_operator_hours(
    plan: PlanVariables, instance: Instance, calendar: SiteCalendar, roster: Roster
) -> None:
    """C6 relaxed to hours, for relaxations: per date and skill, the hours of the steps needing
    the skill fit the rostered hours of the operators holding it; day-0 steps likewise within
    their start shift, and every step within the hours of everyone rostered that date.

    Necessary, not sufficient (whole steps, distinct operators and shifts are left out), and
    stated over the start literals alone, with no step counts per shift: on generated xl
    waitlist seed 1 the relaxation with `add_operator_staffing` took 27 s to bound weight.
    """
    shift_hours = {shift.id: scaled_hours(shift.hours) for shift in instance.site.shifts}

    def holders_hours(day: date, shift_id: str, skill: str | None) -> int:
        on_shift = roster.on_shift(day, shift_id)
        holders = on_shift if skill is None else roster.qualified(day, shift_id, skill)
        return len(holders) * shift_hours[shift_id]

    # (date, shift id or None for the whole date, skill or None for any) -> terms, hours fixed
    terms: dict[tuple[date, str | None, str | None], list[cp_model.LinearExprT]] = defaultdict(list)
    most: dict[tuple[date, str | None, str | None], int] = defaultdict(int)
    fixed: dict[tuple[date, str | None, str | None], int] = defaultdict(int)

    def demand(
        day: date, shift_id: str | None, step: Step, count: cp_model.LinearExprT | None
    ) -> None:
        hours = scaled_hours(step.hours) * step.operators
        keys: list[tuple[date, str | None, str | None]] = [
            (day, None, step.skill),
            (day, None, None),
        ]
        if shift_id is not None:
            keys.append((day, shift_id, step.skill))
        for key in keys:
            if count is None:
                fixed[key] += hours
            else:
                terms[key].append(hours * count)
                most[key] += hours

    for options in plan.patients:
        patient_id = options.patient.id
        for index, option in enumerate(options.starts):
            day = calendar.date(option.slot.day)
            for step in options.product.steps:
                if step.day_offset == 0:
                    demand(day, option.slot.shift.id, step, sum(plan.starts(patient_id, index)))
        for start_day, on_day in plan.starts_on_day.get(patient_id, {}).items():
            for step in options.product.steps:
                if step.day_offset > 0:
                    demand(calendar.date(start_day + step.day_offset), None, step, on_day)
    for commitment in plan.commitments:
        for remaining in commitment.steps:
            demand(remaining.date, remaining.fixed_shift, remaining.step, None)
    for key, key_terms in terms.items():
        day, shift_id, skill = key
        shifts = [shift_id] if shift_id is not None else list(shift_hours)
        capacity = sum(holders_hours(day, each, skill) for each in shifts) - fixed[key]
        if 0 <= capacity < most[key]:  # (below 0 the in-progress work alone is impossible)
            plan.model.add(sum(key_terms) <= capacity)
