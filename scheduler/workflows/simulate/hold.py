"""Keep a plan as it stands on a changed instance, and insert a few patients where room is left.

This is the `repair` policy and the do-nothing reference. Every patient of the previous plan
keeps its manufacturing start (and its suite position when free); collections keep their date,
teams and QC days are filled again by the first-come-first-served planner, which checks every
resource exactly (the same machinery as `booking.PublishedPlan`). A patient whose start no
longer fits (a closed suite, an absent team) is *displaced*. Then the patients to insert (the
failed ones, and for `repair` the displaced ones) take the earliest-delivering start still free
— nobody else moves.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date

from models import Instance, Schedule
from models.instance import Step
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import Batch, PlannedStep, assign_positions
from scheduler.problem.calendar import SiteCalendar
from scheduler.problem.first_come import HOURS_EPSILON, GreedyPlanner
from scheduler.problem.in_progress import Commitment, commitment_of
from scheduler.problem.measures import weight_scale
from scheduler.problem.options import OptionBuilder, PatientOptions, StartOption
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.roster import Roster
from scheduler.search.outcome import SearchOutcome, SolveOptions
from scheduler.workflows.solve import solve
from scheduler.workflows.warm_start import previous_plan_first


@dataclass
class Held:
    """The kept plan, who was placed anew and who lost their start."""

    schedule: Schedule
    placed: set[str] = field(default_factory=set)
    displaced: list[str] = field(default_factory=list)
    used_solver: bool = False  # in-progress work did not fit greedily: CP-SAT placed it


# (patient, step id) -> the date, shift and team the plan in force gives that step.
Teams = dict[tuple[str, str], tuple[date, str, list[str]]]


class KeepingPlanner(GreedyPlanner):
    """The first-come planner that gives every step its team of the plan in force when still free.

    Re-filling teams from scratch with the greedy rule ("most hours left") fails to staff some
    steps that the plan in force (often CP-SAT's, which packs hours better) staffed: the patient
    would be displaced by the re-fill itself, not by any event. Keeping the team first makes
    "keep the plan" mean keeping it; a team an absence broke is filled greedily as before.
    """

    def __init__(
        self,
        problem: PlanningProblem,
        teams: Teams,
        collections: dict[str, date],
        assays: dict[tuple[str, str], date],
    ) -> None:
        super().__init__(problem)
        self.teams = teams
        self.collections = collections  # patient -> collection date of the plan in force
        self.assays = assays  # (patient, assay) -> start date of the plan in force
        self.patient_id = ""  # whose steps `_staff` is staffing now

    def _place_commitment(self, commitment: Commitment) -> Batch | None:
        self.patient_id = commitment.batch.patient
        return super()._place_commitment(commitment)

    def try_option(
        self, options: PatientOptions, option: StartOption, commit: bool = True
    ) -> Batch | str:
        """As the first-come planner, keeping the patient's teams of the plan in force first."""
        self.patient_id = options.patient.id
        return super().try_option(options, option, commit)

    def _free_collection(self, options: PatientOptions, option: StartOption) -> date | None:
        # The plan's collection date first (the greedy rule prefers the instance's communicated
        # date, which the plan in force may have moved: re-filling would move it back).
        kept = self.collections.get(options.patient.id)
        hospital = options.hospital
        if kept in option.apheresis_dates and self.chairs[
            (hospital.id, kept)
        ] < hospital.free_chairs_on(kept):
            return kept
        return super()._free_collection(options, option)

    def _lab_free(self, day: int, assay_id: str) -> bool:
        # The planner takes the first free day: while the plan's own day is free, the days
        # before it count as taken, so the assay keeps its day (first-free would crowd others
        # out of the days the plan gave them: C7 displacements no event caused).
        kept = self.assays.get((self.patient_id, assay_id))
        if kept is not None:
            kept_day = self.calendar.day(kept)
            if day < kept_day and super()._lab_free(kept_day, assay_id):
                return False
        return super()._lab_free(day, assay_id)

    def _staff(
        self,
        step: Step,
        day: date,
        shifts: list[str],
        scratch: dict[tuple[date, str, str], float],
    ) -> PlannedStep | None:
        kept = self.teams.get((self.patient_id, step.id))
        if kept is not None and kept[0] == day and kept[1] in shifts:
            _, shift_id, team = kept
            shift_hours = self.instance.shift_by_id[shift_id].hours
            able = {op.id for op in self.problem.roster.qualified(day, shift_id, step.skill)}
            keys = [(day, shift_id, op) for op in team]
            if len(team) == step.operators and all(
                op in able
                and shift_hours - self.operator_hours[key] - scratch.get(key, 0.0) + HOURS_EPSILON
                >= step.hours
                for op, key in zip(team, keys, strict=True)
            ):
                for key in keys:
                    scratch[key] = scratch.get(key, 0.0) + step.hours
                return PlannedStep(step, day, shift_id, sorted(team))
        return super()._staff(step, day, shifts, scratch)


def teams_of(schedule: Schedule) -> Teams:
    """Every step's date, shift and team in a schedule, by patient and step."""
    return {
        (a.patient, s.step): (s.date, s.shift, list(s.operators))
        for a in schedule.assignments
        for s in a.steps
    }


def _insert(planner: GreedyPlanner, options: PatientOptions) -> Batch | None:
    for option in sorted(options.starts, key=lambda o: planner.option_order(options, o)):
        placed = planner.try_option(options, option)
        if isinstance(placed, Batch):
            return placed
    return None


def _prepare_kept(
    instance: Instance, previous: Schedule, collections: dict[str, date]
) -> PlanningProblem:
    """`prepare`, but a patient the plan in force keeps gets only the option of its kept start.

    Enumerating every start of every patient's collection window each event day was the largest
    cost of a simulated run; a kept patient keeps its start and its collection date
    (`KeepingPlanner`), so only that start is tried, with the same checks (suites, rostered
    teams, lab days, infusion window) as `prepare`. Patients who then lose their start get
    all their options back (`hold`).
    """
    calendar = SiteCalendar(instance)
    roster = Roster(instance)
    builder = OptionBuilder(instance, calendar, roster)
    slots = {slot.start.astimezone(UTC): slot for slot in calendar.slots}
    kept = {
        a.patient: a.manufacturing_start.astimezone(UTC)
        for a in previous.assignments
        if not a.in_progress
    }
    patients = []
    for patient in instance.patients:
        day, start = collections.get(patient.id), kept.get(patient.id)
        slot = None if start is None else slots.get(start)
        if day is None or slot is None or patient.locked:
            patients.append(builder.patient_options(patient))
            continue
        product = instance.product_by_id[patient.product]
        hospital = instance.hospital_by_id[patient.hospital]
        options = PatientOptions(patient, product, hospital, [])
        # The builder's own check of one start (no public entry for a single start).
        option = builder._start_option(patient, product, hospital, slot, [day], options.rejections)
        options.starts += [] if option is None else [option]
        patients.append(options)
    commitments = [commitment_of(builder, batch) for batch in instance.in_progress]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return PlanningProblem(instance, calendar, roster, builder, patients, commitments, scale)


def hold(
    instance: Instance,
    previous: Schedule,
    insert: Iterable[str],
    reinsert_displaced: bool,
    time_limit: float,
) -> Held:
    """The previous plan kept on `instance`, with `insert` (and maybe the displaced) placed anew."""
    started = time.monotonic()
    collections = {
        a.patient: a.apheresis_date for a in previous.assignments if a.apheresis_date is not None
    }
    problem = _prepare_kept(instance, previous, collections)
    assays = {(a.patient, q.assay): q.start_date for a in previous.assignments for q in a.qc}
    planner = KeepingPlanner(problem, teams_of(previous), collections, assays)
    batches = planner.place_commitments()
    if batches is None:
        # An absence left a running batch's step without a team in its shift: the greedy cannot
        # move steps between shifts, CP-SAT can (it may move others too; counted in the report).
        fallback = SolveOptions(
            time_limit=time_limit,
            workers=1,
            start_batches=previous_plan_first(previous),
        )
        return Held(solve(instance, fallback), used_solver=True)
    by_id = {o.patient.id: o for o in problem.patients}
    instance_patients = {p.id: p for p in instance.patients}
    before = {
        a.patient: a for a in previous.assignments if not a.in_progress and a.patient in by_id
    }
    held = Held(previous)
    for patient_id in sorted(before, key=lambda p: (before[p].manufacturing_start, p)):
        options = by_id[patient_id]
        start = before[patient_id].manufacturing_start.astimezone(UTC)
        option = next((o for o in options.starts if o.slot.start.astimezone(UTC) == start), None)
        placed = planner.try_option(options, option) if option is not None else None
        if isinstance(placed, Batch):
            batches.append(placed)
        else:
            held.displaced.append(patient_id)
    wanted = [p for p in dict.fromkeys(insert) if p in by_id and p not in before]
    if reinsert_displaced:
        wanted += held.displaced
    # Whoever is placed anew, or left out, is judged on all their options, not the kept one.
    scheduled = {b.patient_id for b in batches}
    for index, options in enumerate(problem.patients):
        if options.patient.id in before and options.patient.id not in scheduled:
            full = problem.builder.patient_options(instance_patients[options.patient.id])
            problem.patients[index] = by_id[options.patient.id] = full
    for patient_id in sorted(wanted, key=lambda p: planner.patient_order(by_id[p])):
        batch = _insert(planner, by_id[patient_id])
        if batch is not None:
            batches.append(batch)
            held.placed.add(patient_id)
    seats = {a.patient: (a.suite, a.position) for a in previous.assignments}
    assign_positions(batches, problem.builder.classes, seats)
    outcome = SearchOutcome(status="SOLVED", batches=batches)
    held.schedule = build_schedule(problem, outcome, time.monotonic() - started)
    return held
