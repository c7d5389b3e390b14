"""The relaxed model: the smallest set of changes that lets one unscheduled patient in.

One change is sometimes not enough: a patient may need a chair *and* an operator-shift, or a
suite position *and* a QC start. This model finds the smallest combination. The patient must be
scheduled and everyone else keeps their place: each candidate start of the patient is priced
against what the published plan leaves free (`booking.PublishedPlan` bookkeeping), and every
capacity it would exceed is a slack paid for by the concrete change that provides it:

- C2 the collection date: one chair more per chair missing; a date outside the apheresis window
  widens it by k days;
- C4 the start date: one manufacturing start a day more per start missing;
- C5 a suite position no other batch holds then: each downtime in the way shortened by the
  fewest days (or cancelled); if every position is held, one more position;
- C6 every step: one operator-shift per operator missing, in the shift missing fewest;
- C7 every assay: one start more per start missing on its start day, or its closed lab day opened;
- C9/C10 the delivery: the infusion window closing k days later (or opening k days earlier when
  it opens at the horizon end).

The candidate starts come from `OptionBuilder.patient_options` run on a copy of the instance in
which nothing this model can pay for stops a start (windows widened by MAX_WIDENING_DAYS, no
downtime on the suitable suites, closed lab days open, a chair on every weekday, a team on every
shift); what cannot be paid for (shelf-life, the horizon, hospital closed dates, a locked date)
still rules starts out. A small CP-SAT model chooses the start, collection date and assay days
and minimises the total size of the changes chosen (`Change.size`: the RANK order, k days
added for windows and downtime, times the amount for counted resources); one Boolean per
distinct change makes a change shared by several starts cost once. Each answer is cut off by a
no-good so the next call gives the next-smallest set. The caller verifies every set
(scheduler/suggest.py); this model only proposes.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from ortools.sat.python import cp_model

from models import Instance, Patient
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.options import OptionBuilder, StartOption
from scheduler.problem.roster import Roster
from scheduler.workflows.booking import PublishedPlan
from scheduler.workflows.suggest.changes import MAX_WIDENING_DAYS, Change, operators_to_roster

HOURS_EPSILON = 1e-9
# How many of the most frequent reasons an out-of-reach explanation quotes.
REASONS_QUOTED = 2


@dataclass(frozen=True)
class ChangeSet:
    """Changes to make together, and their total size."""

    changes: tuple[Change, ...]
    size: int


class _AnyTeam(Roster):
    """A roster in which a team can always be found: missing operators are priced, not ruled out."""

    def can_staff(self, day: date, shift_id: str, skill: str, operators: int) -> bool:
        """Always: one more operator-shift can be rostered for any step."""
        return True


class RelaxedModel:
    """One unscheduled patient against the published plan, every capacity exceedable at a price."""

    def __init__(self, instance: Instance, plan: PublishedPlan, patient: Patient) -> None:
        self.instance = instance
        self.plan = plan
        self.patient = patient
        self.product = instance.product_by_id[patient.product]
        self.hospital = instance.hospital_by_id[patient.hospital]
        relaxed = _without_priced_limits(instance, patient)
        relaxed_patient = next(p for p in relaxed.patients if p.id == patient.id)
        builder = OptionBuilder(relaxed, SiteCalendar(relaxed), _AnyTeam(relaxed))
        self.options = builder.patient_options(relaxed_patient)
        self.model = cp_model.CpModel()
        self._literals: dict[Change, cp_model.IntVar] = {}
        self._assay_starts: list[
            tuple[str, int, cp_model.IntVar]
        ] = []  # (assay, day index, chosen)
        if self.options.starts:
            self._build()

    # ----- questions -------------------------------------------------------------------------

    @property
    def out_of_reach(self) -> str | None:
        """Why no change this model can price lets the patient in (its own data), or None."""
        if self.options.starts:
            return None
        common = [reason for reason, _ in self.options.rejections.most_common(REASONS_QUOTED)]
        why = "; ".join(common) if common else "it has no collection date in the horizon"
        patient = self.patient
        if patient.collected_on is not None:
            fixed = f"collected on {patient.collected_on:%a %Y-%m-%d}"
        elif patient.locked and patient.previous_apheresis_date is not None:
            fixed = f"locked to collect on {patient.previous_apheresis_date:%a %Y-%m-%d}"
        else:
            fixed = f"its windows widened by {MAX_WIDENING_DAYS} days"
        return (
            f"nothing within reach: {fixed}, and every chair, operator, QC start, suite position and "
            f"downtime made available, {patient.id} still has no possible start: {why}"
        )

    def next_change_set(self, seconds: float) -> ChangeSet | None:
        """The smallest set of changes not proposed before, or None when there is none (or no time)."""
        if not self.options.starts:
            return None
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = max(seconds, 0.05)
        solver.parameters.num_workers = 1  # a small model: one worker proves it fastest
        if solver.solve(self.model) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        chosen = [
            change for change, literal in self._literals.items() if solver.boolean_value(literal)
        ]
        # The next call must differ in at least one change.
        self.model.add_bool_or([~self._literals[change] for change in chosen])
        if not chosen:
            return ChangeSet((), 0)
        started: dict[date, list[str]] = {}
        for assay_id, day, on in self._assay_starts:
            if solver.boolean_value(on):
                started.setdefault(self.plan.calendar.date(day), []).append(assay_id)
        concrete = self._concrete(chosen, started)
        return ChangeSet(concrete, sum(change.size for change in concrete))

    # ----- the model -------------------------------------------------------------------------

    def _build(self) -> None:
        """One start, one collection date and one day per assay; slack priced by change literals."""
        model, calendar = self.model, self.plan.calendar
        qp = self.product.qp_release_days
        release = model.new_int_var(0, 2 * calendar.days + 100, "release")
        starts = [
            model.new_bool_var(f"start {option.slot.label}") for option in self.options.starts
        ]
        model.add_exactly_one(starts)
        for option, start in zip(self.options.starts, starts, strict=True):
            for change in self._start_changes(option):
                self._pay(start, change)
            model.add(release >= option.end_day + qp).only_enforce_if(start)
            collections = [model.new_bool_var(f"collect {day}") for day in option.apheresis_dates]
            model.add(sum(collections) == start)
            for day, collection in zip(option.apheresis_dates, collections, strict=True):
                for change in self._collection_changes(day):
                    self._pay(collection, change)
            for assay, days in zip(self.product.qc_assays, option.assay_days, strict=True):
                starts_on = [model.new_bool_var(f"{assay.id} on {lab_day}") for lab_day in days]
                model.add(sum(starts_on) == start)
                for lab_day, on in zip(days, starts_on, strict=True):
                    self._assay_starts.append((assay.id, lab_day, on))
                    model.add(release >= lab_day + assay.duration_days + qp).only_enforce_if(on)
                    for change in self._assay_changes(assay.id, lab_day):
                        self._pay(on, change)
        self._delivery(release)
        sizes = [change.size * literal for change, literal in self._literals.items()]
        # Sizes first; among equally small sets, the earliest release (the patient waits least).
        model.minimize(sum(sizes) * (2 * calendar.days + 101) + release)

    def _pay(self, choice: cp_model.IntVar, change: Change) -> None:
        """Choosing `choice` makes `change` (one literal per distinct change: shared, it costs once)."""
        literal = self._literals.get(change)
        if literal is None:
            literal = self._literals[change] = self.model.new_bool_var(
                f"{change.kind} {change.resource} {change.dates}"
            )
        self.model.add_implication(choice, literal)

    def _delivery(self, release: cp_model.IntVar) -> None:
        """The delivery inside the infusion window (C9) and the horizon (C10), or the window widened."""
        model, calendar, patient = self.model, self.plan.calendar, self.patient
        window = patient.infusion_window
        last = calendar.days - 1
        arrival = release + self.hospital.return_transit_days
        earliest = calendar.day(window.earliest)
        latest = calendar.day(window.latest) if window.latest is not None else last
        choices: list[tuple[Change | None, int]] = []
        if earliest <= last:
            choices.append((None, min(latest, last)))
            if window.latest is not None:
                choices += [
                    (
                        Change(
                            "infusion_window",
                            patient.id,
                            (window.earliest, window.latest + timedelta(days=k)),
                            amount=k,
                            edge="later",
                        ),
                        min(latest + k, last),
                    )
                    for k in range(1, MAX_WIDENING_DAYS + 1)
                    if latest + k - 1 < last
                ]
        else:  # the window opens at the horizon end: only opening it earlier lets a delivery in
            end = calendar.end_date
            choices += [
                (
                    Change(
                        "infusion_window",
                        patient.id,
                        (window.earliest - timedelta(days=k), window.latest or end),
                        amount=k,
                        edge="earlier",
                    ),
                    min(latest, last),
                )
                for k in range(1, MAX_WIDENING_DAYS + 1)
                if earliest - k <= last
            ]
        chosen = [model.new_bool_var(f"delivery {i}") for i in range(len(choices))]
        model.add_exactly_one(chosen)
        for (change, bound), literal in zip(choices, chosen, strict=True):
            model.add(arrival <= bound).only_enforce_if(literal)
            if change is not None:
                self._pay(literal, change)

    # ----- prices ----------------------------------------------------------------------------

    def _collection_changes(self, day: date) -> list[Change]:
        """A collection on `day`: the window widened to it, and the chairs it lacks (C2)."""
        patient, plan, hospital = self.patient, self.plan, self.hospital
        if patient.collected_on is not None:
            return []  # collected already: its date stands, in the window or not, and uses no chair (C2)
        window = patient.apheresis_window
        changes = []
        if day < window.earliest:
            changes.append(
                Change(
                    "apheresis_window",
                    patient.id,
                    (day, window.latest),
                    amount=(window.earliest - day).days,
                    edge="earlier",
                )
            )
        elif day > window.latest:
            changes.append(
                Change(
                    "apheresis_window",
                    patient.id,
                    (window.earliest, day),
                    amount=(day - window.latest).days,
                    edge="later",
                )
            )
        missing = plan.chairs[(hospital.id, day)] + 1 - hospital.free_chairs_on(day)
        if missing > 0:
            changes.append(Change("chair", hospital.id, (day,), amount=missing))
        return changes

    def _assay_changes(self, assay_id: str, day: int) -> list[Change]:
        """An assay started on day index `day`: the closed lab day opened, or the starts it lacks (C7)."""
        plan, lab = self.plan, self.instance.qc_lab
        when = plan.calendar.date(day)
        if when in lab.closed_dates:
            # Opening the lab one day serves every assay that starts then: one change per date,
            # its assays named once the start is chosen (`_concrete`).
            return [Change("qc_open_day", "", (when,))]
        missing = plan.qc_starts[(day, assay_id)] + 1 - lab.capacity_on(assay_id, when)
        return [Change("qc_start", assay_id, (when,), amount=missing)] if missing > 0 else []

    def _start_changes(self, option: StartOption) -> list[Change]:
        """What a start needs whatever the collection and assay days: a start, a position, teams."""
        changes = []
        limit = self.instance.site.max_starts_per_day
        if limit is not None:
            missing = self.plan.starts[option.slot.date] + 1 - limit
            if missing > 0:
                changes.append(Change("start_limit", self.instance.site.id, (), amount=missing))
        return (
            changes
            + self._suite_changes(option.slot.start, option.occupied_until)
            + self._team_changes(option)
        )

    def _suite_changes(self, start: datetime, until: datetime) -> list[Change]:
        """The cheapest way to a suite position for `[start, until)` (C5): downtime shortened, a position added."""
        best: list[Change] | None = None
        for suite in self.instance.suites:
            if suite.type not in self.product.suite_types:
                continue
            changes = self._downtime_changes(suite.id, start, until)
            held = all(
                any(
                    until > taken_start and start < taken_end
                    for taken_start, taken_end in self.plan.positions[(suite.id, p)]
                )
                for p in range(1, suite.positions + 1)
            )
            if held:
                changes.append(Change("suite_position", suite.id, ()))
            if best is None or sum(c.size for c in changes) < sum(c.size for c in best):
                best = changes
        assert best is not None, "the relaxed options only offer starts with a suitable suite"
        return best

    def _downtime_changes(self, suite_id: str, start: datetime, until: datetime) -> list[Change]:
        """Every downtime of the suite overlapping `[start, until)`, shortened by the fewest days."""
        calendar = self.plan.calendar
        suite = self.instance.suite_by_id[suite_id]
        changes = []
        for index, period in enumerate(suite.unavailable):
            if until <= calendar.local(period.start) or start >= calendar.local(period.end):
                continue
            days = max(1, math.ceil((period.end - period.start) / timedelta(days=1)))
            fits = [
                Change(
                    "downtime_shortened",
                    suite.id,
                    (period.start.date(), period.end.date()),
                    amount=k,
                    edge=edge,
                    period=index,
                )
                for k in range(1, days + 1)
                for edge in ("end", "start")
                if _clear_of(calendar, period.start, period.end, k, edge, start, until)
            ]
            changes.append(fits[0])  # k = days cancels the period, so one always clears
        return changes

    def _team_changes(self, option: StartOption) -> list[Change]:
        """Operator-shifts missing for the steps of a start (C6), shift by shift as the planner staffs them."""
        plan, instance = self.plan, self.instance
        roster = plan.problem.roster
        scratch: defaultdict[tuple[date, str, str], float] = defaultdict(float)
        missing_by_slot: Counter[tuple[str, date, str]] = Counter()
        for step in self.product.steps:
            day = option.slot.date + timedelta(days=step.day_offset)
            shifts = (
                [option.slot.shift_id]
                if step.day_offset == 0
                else [s.id for s in instance.site.shifts]
            )
            best: tuple[int, str, list[Any]] | None = None
            for shift_id in shifts:
                hours = instance.shift_by_id[shift_id].hours
                if step.hours > hours:
                    continue
                able = [
                    (
                        hours
                        - plan.operator_hours[(day, shift_id, op.id)]
                        - scratch[(day, shift_id, op.id)],
                        op.id,
                    )
                    for op in roster.qualified(day, shift_id, step.skill)
                ]
                able = [(left, op) for left, op in able if left + HOURS_EPSILON >= step.hours]
                missing = max(0, step.operators - len(able))
                if best is None or missing < best[0]:
                    best = (missing, shift_id, able)
                if missing == 0:
                    break  # the planner takes the first shift with a full team
            assert best is not None, (
                "the relaxed options only offer steps some shift is long enough for"
            )
            missing, shift_id, able = best
            for _, op_id in sorted(able, key=lambda item: (-item[0], item[1]))[: step.operators]:
                scratch[(day, shift_id, op_id)] += step.hours
            if missing:
                missing_by_slot[(step.skill, day, shift_id)] += missing
        return [
            Change("operator_shift", skill, (day,), amount=missing, shift=shift_id)
            for (skill, day, shift_id), missing in missing_by_slot.items()
        ]

    # ----- answers ---------------------------------------------------------------------------

    def _concrete(self, chosen: list[Change], started: dict[date, list[str]]) -> tuple[Change, ...]:
        """The chosen changes as a coordinator makes them: one operator-shift per operator, named where
        one is free; a lab day opened for the assays that start on it (`started`)."""
        concrete: list[Change] = []
        rostered: set[tuple[str, date, str]] = set()
        for change in chosen:
            if change.kind == "qc_open_day":
                concrete.append(replace(change, resource=",".join(started[change.dates[0]])))
                continue
            if change.kind != "operator_shift":
                concrete.append(change)
                continue
            (day,) = change.dates
            assert change.shift is not None
            # An operator with two skills must not be asked for twice on one shift.
            names = [
                name
                for name in operators_to_roster(
                    self.instance, day, change.shift, change.resource, change.amount + len(rostered)
                )
                if name is None or (name, day, change.shift) not in rostered
            ][: change.amount]
            names += [None] * (change.amount - len(names))
            for name in names:
                if name is not None:
                    rostered.add((name, day, change.shift))
                concrete.append(
                    Change(
                        "operator_shift", change.resource, (day,), shift=change.shift, operator=name
                    )
                )
        return tuple(sorted(concrete, key=lambda c: (c.size, c.kind, c.dates, c.resource)))


def _clear_of(
    calendar: SiteCalendar,
    start: datetime,
    end: datetime,
    k: int,
    edge: str,
    busy_from: datetime,
    busy_until: datetime,
) -> bool:
    """Whether a downtime shortened by k days at `edge` (as `changes.apply_changes` does) leaves `[busy_from, busy_until)` free."""
    days = timedelta(days=k)
    new_start, new_end = (start, end - days) if edge == "end" else (start + days, end)
    if new_end <= new_start:
        return True  # cancelled
    return busy_until <= calendar.local(new_start) or busy_from >= calendar.local(new_end)


def _without_priced_limits(instance: Instance, patient: Patient) -> Instance:
    """A copy of the instance in which nothing the model can pay for rules out a start of the patient."""
    doc = instance.model_dump(mode="json")
    widen = timedelta(days=MAX_WIDENING_DAYS)
    product = instance.product_by_id[patient.product]
    for entry in doc["patients"]:
        if entry["id"] != patient.id:
            continue
        window = patient.apheresis_window
        entry["apheresis_window"] = {
            "earliest": (window.earliest - widen).isoformat(),
            "latest": (window.latest + widen).isoformat(),
        }
        infusion = patient.infusion_window
        if infusion.latest is not None:
            entry["infusion_window"]["latest"] = (infusion.latest + widen).isoformat()
        horizon_end = instance.horizon.start + timedelta(days=instance.horizon.days)
        if infusion.earliest >= horizon_end - timedelta(days=1):
            entry["infusion_window"]["earliest"] = (infusion.earliest - widen).isoformat()
    for hospital in doc["hospitals"]:
        if hospital["id"] == patient.hospital:
            # A chair more on any weekday is a change like any other; closed dates stay closed.
            capacity = hospital.get("apheresis_capacity", {})
            hospital["apheresis_capacity"] = {
                day: max(capacity.get(day, 0), 1)
                for day in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
            }
            hospital["booked_elsewhere"] = {}
    for suite in doc["suites"]:
        if suite["type"] in product.suite_types:
            suite["unavailable"] = []
    lab = doc["qc_lab"]
    lab["closed_dates"] = []
    lab["capacity"] = {assay: max(count, 1) for assay, count in lab["capacity"].items()}
    for assay in product.qc_assays:
        lab["capacity"].setdefault(assay.id, 1)
    lab["capacity_by_date"] = {
        day: {assay: max(count, 1) for assay, count in counts.items()}
        for day, counts in lab.get("capacity_by_date", {}).items()
    }
    if doc["site"].get("max_starts_per_day") == 0:
        doc["site"]["max_starts_per_day"] = 1
    return Instance.model_validate(doc)
