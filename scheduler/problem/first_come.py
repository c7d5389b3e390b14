"""A first-come-first-served plan, as a coordinator would fill the spreadsheet.

It serves three purposes: a valid schedule within a second even for the largest sites (the
fallback when the search finds nothing in time), the first hint of the CP-SAT search, and the
baseline the optimiser is compared with. Every resource is checked exactly, teams included.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from models.instance import Operator, Step
from scheduler.problem import reasons
from scheduler.problem.batches import Batch, PlannedAssay, PlannedStep, set_release_and_delivery
from scheduler.problem.in_progress import Commitment
from scheduler.problem.options import PatientOptions, StartOption

if TYPE_CHECKING:
    from scheduler.problem.planning import PlanningProblem

HOURS_EPSILON = 1e-9


class GreedyPlanner:
    """Places batches one at a time into what is left of chairs, suites, teams and the lab."""

    def __init__(self, problem: PlanningProblem) -> None:
        self.problem = problem
        self.instance = problem.instance
        self.calendar = problem.calendar
        self.chairs: Counter[tuple[str, date]] = Counter()
        self.starts: Counter[date] = Counter()
        self.occupancy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.operator_hours: defaultdict[tuple[date, str, str], float] = defaultdict(float)
        self.qc_starts: Counter[tuple[int, str]] = Counter()

    def plan(self) -> list[Batch] | None:
        """Commitments first, then patients in coordinator order; None if a commitment does not fit."""
        batches = self.place_commitments()
        if batches is None:
            return None
        for options in sorted(self.problem.patients, key=self.patient_order):
            patient_batch = self._place_patient(options)
            if patient_batch is not None:
                batches.append(patient_batch)
        return batches

    def place_commitments(self) -> list[Batch] | None:
        """Every in-progress batch at its fixed suite position and start; None if one does not fit."""
        batches = []
        for commitment in self.problem.commitments:
            batch = self._place_commitment(commitment)
            if batch is None:
                return None
            batches.append(batch)
        return batches

    def patient_order(self, options: PatientOptions) -> tuple[object, ...]:
        """The order patients are placed in: locked first, then the heaviest, then the earliest collection."""
        return coordinator_order(options)

    def option_order(self, options: PatientOptions, option: StartOption) -> tuple[object, ...]:
        """The order a patient's starts are tried in: its communicated date first, then the earliest delivery."""
        return option_order_of(options, option)

    # ----- one batch -------------------------------------------------------------------------

    def _place_commitment(self, commitment: Commitment) -> Batch | None:
        steps = []
        hours: dict[tuple[date, str, str], float] = {}
        for remaining in commitment.steps:
            shifts = (
                [remaining.fixed_shift]
                if remaining.fixed_shift
                else [s.id for s in self.instance.site.shifts]
            )
            planned = self._staff(remaining.step, remaining.date, shifts, hours)
            if planned is None:
                return None
            steps.append(planned)
        assays = []
        for pending in commitment.assays:
            if pending.started_before_horizon:
                day = pending.allowed_days[0]
            else:
                free = [d for d in pending.allowed_days if self._lab_free(d, pending.assay.id)]
                if not free:
                    return None
                day = free[0]
            assays.append(PlannedAssay(pending.assay, self.calendar.day(pending.sample_date), day))
        batch = Batch(
            commitment.batch.patient,
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
        set_release_and_delivery(batch, commitment.batch.infusion_window, self.calendar)
        window = commitment.batch.infusion_window
        latest = self.calendar.days - 1
        if window is not None and window.latest is not None:
            latest = min(latest, self.calendar.day(window.latest))
        if batch.delivery_day > latest:
            return None
        self._commit(batch, hours, chair=None)
        return batch

    def _place_patient(self, options: PatientOptions) -> Batch | None:
        for option in sorted(options.starts, key=lambda o: self.option_order(options, o)):
            placed = self.try_option(options, option)
            if isinstance(placed, Batch):
                return placed
        return None

    def try_option(
        self, options: PatientOptions, option: StartOption, commit: bool = True
    ) -> Batch | str:
        """Place a patient with one start option into what is left, or say (rule first) what is missing."""
        patient, hospital = options.patient, options.hospital
        where = f"a start on {option.slot.label}"
        apheresis = self._free_collection(options, option)
        if options.uses_chair and apheresis is None:
            return reasons.chairs_all_taken(hospital, option.apheresis_dates, where)
        limit = self.instance.site.max_starts_per_day
        if limit is not None and self.starts[option.slot.date] >= limit:
            return reasons.daily_starts_taken(limit, option.slot.date)
        suite_class = next(
            (
                c
                for c in option.classes
                if self._class_free(c, option.slot.start, option.occupied_until)
            ),
            None,
        )
        if suite_class is None:
            types = "/".join(options.product.suite_types)
            return reasons.no_position_free(types, option.slot.start, option.occupied_until, where)
        hours: dict[tuple[date, str, str], float] = {}
        steps = []
        for step in options.product.steps:
            day = option.slot.date + timedelta(days=step.day_offset)
            shifts = (
                [option.slot.shift_id]
                if step.day_offset == 0
                else [s.id for s in self.instance.site.shifts]
            )
            planned = self._staff(step, day, shifts, hours)
            if planned is None:
                in_shift = f"shift {shifts[0]}" if len(shifts) == 1 else "any shift"
                return reasons.no_team_with_hours_free(step, in_shift, day, where)
            steps.append(planned)
        assays = []
        for index, assay in enumerate(options.product.qc_assays):
            free = [d for d in option.assay_days[index] if self._lab_free(d, assay.id)]
            if not free:
                first = self.calendar.date(option.assay_days[index][0])
                capacity = self.instance.qc_lab.capacity[assay.id]
                return reasons.lab_starts_taken(capacity, assay.id, first, where)
            assays.append(PlannedAssay(assay, option.slot.day + assay.sample_day_offset, free[0]))
        batch = Batch(
            patient.id,
            False,
            options.product,
            hospital,
            apheresis if options.uses_chair else patient.collected_on,
            option.slot.start,
            option.end,
            option.occupied_until,
            option.end_day,
            suite_class,
            steps,
            assays,
        )
        set_release_and_delivery(batch, patient.infusion_window, self.calendar)
        window = patient.infusion_window
        if window.latest is not None and batch.delivery_day > self.calendar.day(window.latest):
            delivery = self.calendar.date(batch.delivery_day)
            return reasons.delivery_after_window_with_free_qc(where, delivery, window.latest)
        if batch.delivery_day >= self.calendar.days:
            return reasons.delivery_after_horizon_with_free_qc(where)
        if commit:
            self._commit(
                batch,
                hours,
                chair=(hospital.id, apheresis) if options.uses_chair and apheresis else None,
            )
        return batch

    def load(self, batches: list[Batch]) -> None:
        """Take the resources these (fully assigned) batches use."""
        patients = {p.patient.id: p for p in self.problem.patients}
        for batch in batches:
            hours: dict[tuple[date, str, str], float] = defaultdict(float)
            for step in batch.steps:
                for operator in step.operators:
                    hours[(step.date, step.shift_id, operator)] += step.step.hours
            chair = None
            options = patients.get(batch.patient_id)
            if options is not None and options.uses_chair and batch.apheresis_date is not None:
                chair = (batch.hospital.id, batch.apheresis_date)
            self._commit(batch, dict(hours), chair)

    # ----- resources -------------------------------------------------------------------------

    def _free_collection(self, options: PatientOptions, option: StartOption) -> date | None:
        hospital = options.hospital
        previous = options.patient.previous_apheresis_date
        for day in sorted(option.apheresis_dates, key=lambda d: (d != previous, d)):
            if self.chairs[(hospital.id, day)] < hospital.free_chairs_on(day):
                return day
        return None

    def _class_free(self, class_index: int, start: datetime, until: datetime) -> bool:
        intervals = self.occupancy[class_index]
        points = [start] + [s for s, _ in intervals if start <= s < until]
        capacity = self.problem.builder.classes[class_index].capacity
        return all(sum(1 for s, e in intervals if s <= p < e) < capacity for p in points)

    def _lab_free(self, day: int, assay_id: str) -> bool:
        return self.qc_starts[(day, assay_id)] < self.instance.qc_lab.capacity_on(
            assay_id, self.calendar.date(day)
        )

    def _staff(
        self, step: Step, day: date, shifts: list[str], scratch: dict[tuple[date, str, str], float]
    ) -> PlannedStep | None:
        """A shift and a team for one step: the qualified rostered operators with most hours left."""
        for shift_id in shifts:
            shift_hours = self.instance.shift_by_id[shift_id].hours

            def left(
                op: Operator, shift_id: str = shift_id, shift_hours: float = shift_hours
            ) -> float:
                key = (day, shift_id, op.id)
                return shift_hours - self.operator_hours[key] - scratch.get(key, 0.0)

            able = [
                op
                for op in self.problem.roster.qualified(day, shift_id, step.skill)
                if left(op) + HOURS_EPSILON >= step.hours
            ]
            if len(able) < step.operators:
                continue
            team = sorted(able, key=lambda op: (-left(op), op.id))[: step.operators]
            for op in team:
                scratch[(day, shift_id, op.id)] = (
                    scratch.get((day, shift_id, op.id), 0.0) + step.hours
                )
            return PlannedStep(step, day, shift_id, sorted(op.id for op in team))
        return None

    def _commit(
        self,
        batch: Batch,
        hours: dict[tuple[date, str, str], float],
        chair: tuple[str, date] | None,
    ) -> None:
        for key, used in hours.items():
            self.operator_hours[key] += used
        for assay in batch.assays:
            if assay.start_day >= 0:
                self.qc_starts[(assay.start_day, assay.assay.id)] += 1
        self.occupancy[batch.class_index].append((batch.start, batch.occupied_until))
        if batch.start >= self.calendar.horizon_start:
            self.starts[batch.start.date()] += 1
        if chair is not None:
            self.chairs[chair] += 1


def coordinator_order(options: PatientOptions) -> tuple[object, ...]:
    """Locked first, then the heaviest, then the earliest collection window."""
    patient = options.patient
    return (not patient.locked, -patient.weight, patient.apheresis_window.earliest, patient.id)


def option_order_of(options: PatientOptions, option: StartOption) -> tuple[object, ...]:
    """The communicated date first, then the earliest delivery, then the earliest start."""
    previous = options.patient.previous_apheresis_date
    return (previous not in option.apheresis_dates, option.earliest_delivery, option.slot.start)


def greedy_batches(problem: PlanningProblem) -> list[Batch] | None:
    """A first-come-first-served plan, or None when the commitments alone do not fit greedily."""
    # The planner knows nothing of a robust plan's rescue reservation: trimmed to keep it.
    return problem.within_reservation(GreedyPlanner(problem).plan())
