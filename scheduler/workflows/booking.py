"""One more patient into a published plan, without moving anyone already in it.

The order system asks which apheresis dates the site can still offer a new patient, and books
one. Both questions are answered against the published schedule taken as fixed occupancy:
chairs per hospital and date (C2), starts per date (C4), every suite position's occupied
intervals (C5, per position: nobody is re-coloured onto another position), every operator's
hours per (date, shift) (C6) and QC starts per day and assay (C7). A candidate start is then
placed exactly as the first-come-first-served planner would place it (C3, C8–C10 included),
so every offer is a complete, valid assignment.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from models import Assignment, Instance, Patient, Schedule
from models.instance import DateWindow
from models.timeutil import add_hours
from scheduler.explain.schedule_document import assignment_of
from scheduler.problem import reasons
from scheduler.problem.batches import Batch
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.first_come import GreedyPlanner
from scheduler.problem.options import OptionBuilder, PatientOptions
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.roster import Roster

Position = tuple[str, int]


@dataclass(frozen=True)
class Offer:
    """One apheresis date the site can offer, with what would follow from it."""

    apheresis_date: date
    assignment: Assignment


@dataclass(frozen=True)
class Availability:
    """The offers for one prospective patient (best delivery first) and why other dates are not offered."""

    offers: list[Offer]
    unavailable: dict[date, str]


class PublishedPlan(GreedyPlanner):
    """A published schedule as fixed occupancy, with what one more patient can still take."""

    def __init__(self, instance: Instance, schedule: Schedule) -> None:
        calendar = SiteCalendar(instance)
        roster = Roster(instance)
        builder = OptionBuilder(instance, calendar, roster)
        super().__init__(PlanningProblem(instance, calendar, roster, builder, [], [], 1))
        self.positions: defaultdict[Position, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.patients: dict[str, Patient] = {p.id: p for p in instance.patients}
        in_progress = {b.patient: b for b in instance.in_progress}
        for assignment in schedule.assignments:
            batch = in_progress.get(assignment.patient)
            if batch is not None:
                self._apply(assignment, batch.product, batch.hospital, None, +1)
            else:
                patient = self.patients[assignment.patient]
                self._apply(assignment, patient.product, patient.hospital, patient, +1)

    # ----- questions -------------------------------------------------------------------------

    def availability(self, patient: Patient) -> Availability:
        """Every apheresis date in the patient's window that still fits, with its best assignment."""
        options = self.problem.builder.patient_options(patient)
        offers, unavailable = [], {}
        window = patient.apheresis_window
        # Collections happen inside the horizon (C2): a window reaching far beyond it costs no more.
        first = max(window.earliest, self.calendar.start_date)
        last = min(window.latest, self.calendar.end_date - timedelta(days=1))
        days = (
            [patient.collected_on]
            if patient.collected_on
            else [first + timedelta(days=i) for i in range((last - first).days + 1)]
            # A window wholly outside the horizon still gets its reason, once.
            or [window.earliest]
        )
        for day in days:
            placed = self._best_placement(options, day)
            if isinstance(placed, Batch):
                offers.append(Offer(day, assignment_of(self.calendar, placed)))
            else:
                unavailable[day] = placed
        offers.sort(key=lambda o: (o.assignment.delivery_date, o.apheresis_date))
        return Availability(offers, unavailable)

    def place(self, patient: Patient, apheresis_date: date) -> Assignment | str:
        """The patient's assignment with collection on `apheresis_date`, or the rule that blocks it."""
        if patient.id in self.patients:
            return reasons.already_in_published_plan(patient.id)
        # Only this collection date matters: enumerate the starts it allows, not the whole window's.
        that_day = patient
        if (
            patient.collected_on is None
            and patient.apheresis_window.earliest
            <= apheresis_date
            <= patient.apheresis_window.latest
        ):
            that_day = patient.model_copy(
                update={
                    "apheresis_window": DateWindow(earliest=apheresis_date, latest=apheresis_date)
                }
            )
        placed = self._best_placement(
            self.problem.builder.patient_options(that_day), apheresis_date
        )
        if isinstance(placed, str):
            return placed
        return assignment_of(self.calendar, placed)

    # ----- changes ---------------------------------------------------------------------------

    def take(self, patient: Patient, assignment: Assignment) -> None:
        """Add a booked patient: it now holds its chair, position, operators' hours and QC starts."""
        self.patients[patient.id] = patient
        self._apply(assignment, patient.product, patient.hospital, patient, +1)

    def release(self, patient_id: str, assignment: Assignment) -> None:
        """Remove a patient: everything it held is free again."""
        patient = self.patients.pop(patient_id)
        self._apply(assignment, patient.product, patient.hospital, patient, -1)

    # ----- internals -------------------------------------------------------------------------

    def _best_placement(self, options: PatientOptions, day: date) -> Batch | str:
        """The earliest-delivering start for a collection on `day`, or the first reason none fits."""
        best: Batch | None = None
        blocked: list[str] = []
        for option in options.starts:
            if day not in option.apheresis_dates:
                continue
            placed = self.try_option(options, replace(option, apheresis_dates=(day,)), commit=False)
            if isinstance(placed, str):
                blocked.append(placed)
            elif best is None or (placed.delivery_day, placed.start) < (
                best.delivery_day,
                best.start,
            ):
                best = placed
        if best is not None:
            position = self._free_position(best.class_index, best.start, best.occupied_until)
            assert position is not None, "try_option only picks a class with a free position"
            best.suite, best.position = position
            return best
        if blocked:
            return blocked[0]
        stamp = f"{day:%Y-%m-%d}"
        return next(
            (reason for reason in options.rejections if stamp in reason),
            next(iter(options.rejections), reasons.collection_day_leaves_no_start(day)),
        )

    def _class_free(self, class_index: int, start: datetime, until: datetime) -> bool:
        return self._free_position(class_index, start, until) is not None

    def _free_position(self, class_index: int, start: datetime, until: datetime) -> Position | None:
        for member in self.problem.builder.classes[class_index].members:
            if all(
                until <= taken_start or start >= taken_end
                for taken_start, taken_end in self.positions[member]
            ):
                return member
        return None

    def _apply(
        self,
        assignment: Assignment,
        product_id: str,
        hospital_id: str,
        patient: Patient | None,
        sign: int,
    ) -> None:
        """Add (+1) or remove (-1) what one assignment holds."""
        instance, calendar = self.instance, self.calendar
        product = instance.product_by_id[product_id]
        zone = calendar.zone
        start = assignment.manufacturing_start.astimezone(zone)
        if (
            patient is not None
            and patient.collected_on is None
            and assignment.apheresis_date is not None
        ):
            self.chairs[(hospital_id, assignment.apheresis_date)] += sign
        if start >= calendar.horizon_start:
            self.starts[start.date()] += sign
        until = add_hours(
            add_hours(start, product.manufacturing_hours, zone), product.changeover_hours, zone
        )
        intervals = self.positions[(assignment.suite, assignment.position)]
        if sign > 0:
            intervals.append((start, until))
        else:
            intervals.remove((start, until))
        hours = {step.id: step.hours for step in product.steps}
        for step in assignment.steps:
            for operator in step.operators:
                self.operator_hours[(step.date, step.shift, operator)] += sign * hours[step.step]
        for assay in assignment.qc:
            before_horizon = patient is None and assay.start_date < calendar.start_date
            if not before_horizon:
                self.qc_starts[(calendar.day(assay.start_date), assay.assay)] += sign
