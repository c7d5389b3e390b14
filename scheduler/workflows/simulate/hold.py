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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from models import Assignment, InProgress, Instance, Patient, Schedule
from models.instance import Step
from scheduler.explain.schedule_document import build_schedule
from scheduler.problem.batches import (
    Batch,
    PlannedAssay,
    PlannedStep,
    assign_positions,
    set_release_and_delivery,
)
from scheduler.problem.calendar import ShiftSlot, SiteCalendar
from scheduler.problem.first_come import HOURS_EPSILON, GreedyPlanner
from scheduler.problem.in_progress import Commitment, commitment_of
from scheduler.problem.measures import weight_scale
from scheduler.problem.options import OptionBuilder, PatientOptions, StartOption
from scheduler.problem.planning import PlanningProblem
from scheduler.problem.roster import roster_of
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
    time_limited: bool = False  # that solve stopped at its time limit (the run depends on speed)
    # The plan in the planner's terms (None when CP-SAT placed it): the next day starts from it.
    problem: PlanningProblem | None = None
    batches: list[Batch] | None = None


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

    def keep(self, batch: Batch, options: PatientOptions) -> bool:
        """Commit a batch of the plan in force as it stands, if all it uses is still free.

        The checks are `try_option`'s for the batch's own start, collection, suite class, teams
        and lab days (which keeps all of them when free), without enumerating the start again.
        """
        self.patient_id = batch.patient_id
        limit = self.instance.site.max_starts_per_day
        if limit is not None and self.starts[batch.start.date()] >= limit:
            return False
        chair = None
        if options.uses_chair:
            hospital, day = options.hospital, batch.apheresis_date
            if day is None or self.chairs[(hospital.id, day)] >= hospital.free_chairs_on(day):
                return False
            chair = (hospital.id, day)
        if not self._class_free(batch.class_index, batch.start, batch.occupied_until):
            return False
        hours = self._kept_teams_and_lab_days(batch)
        if hours is None:
            return False
        self._commit(batch, hours, chair)
        return True

    def keep_running(self, batch: Batch) -> bool:
        """Commit a running batch as the last plan had it, if its teams and lab days are still free.

        The checks are `_place_commitment`'s (which keeps both when free), without deriving the
        batch's commitment again.
        """
        hours = self._kept_teams_and_lab_days(batch)
        if hours is None:
            return False
        self._commit(batch, hours, chair=None)
        return True

    def _kept_teams_and_lab_days(self, batch: Batch) -> dict[tuple[date, str, str], float] | None:
        """The hours the batch's teams take, if every team and every lab day still to start is free.

        An assay sampled before the horizon started then (C11): it takes no lab day here.
        """
        self.patient_id = batch.patient_id
        hours: dict[tuple[date, str, str], float] = {}
        for step in batch.steps:
            planned = self._staff(step.step, step.date, [step.shift_id], hours)
            if planned is None or planned.operators != sorted(step.operators):
                return None
        pending = [a for a in batch.assays if a.sample_day >= 0]
        if not all(self._lab_free(a.start_day, a.assay.id) for a in pending):
            return None
        return hours

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
            able = self.problem.roster.qualified_ids(day, shift_id, step.skill)
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
    instance: Instance,
    previous: Schedule,
    collections: dict[str, date],
    wanted: set[str] | None = None,
    deferred: Iterable[str] = (),
    deferred_running: Iterable[str] = (),
) -> PlanningProblem:
    """`prepare`, but a patient the plan in force keeps gets only the option of its kept start.

    Enumerating every start of every patient's collection window each event day was the largest
    cost of a simulated run; a kept patient keeps its start and its collection date
    (`KeepingPlanner`), so only that start is tried, with the same checks (suites, rostered
    teams, lab days, infusion window) as `prepare`. Patients who then lose their start get
    all their options back (`hold`). With `wanted`, a patient without a kept start who is not
    wanted either (nobody will try to place them) gets no options at all.
    A `deferred` patient (whose batch the last plan gives, to be kept as it is) gets no options
    either: `hold` builds its one option only if the batch cannot be kept as it stands; a
    `deferred_running` batch gets no commitment, for the same reason.
    """
    calendar = SiteCalendar(instance)
    roster = roster_of(instance)
    builder = OptionBuilder(instance, calendar, roster)
    kept = {
        a.patient: a.manufacturing_start.astimezone(UTC)
        for a in previous.assignments
        if not a.in_progress
    }
    deferred = set(deferred)
    patients = []
    for patient in instance.patients:
        day, start = collections.get(patient.id), kept.get(patient.id)
        if patient.id in deferred:
            patients.append(_unexplored(instance, patient))
            continue
        slot = None if start is None else _slot_at(calendar, start)
        # A locked patient keeps its communicated date: the kept option is its only one too.
        locked_elsewhere = patient.locked and day != patient.previous_apheresis_date
        if day is None or slot is None or locked_elsewhere:
            if wanted is None or patient.id in wanted or patient.id in kept:
                patients.append(builder.patient_options(patient))
            else:
                patients.append(_unexplored(instance, patient))
            continue
        patients.append(_kept_option(builder, patient, slot, day))
    running = set(deferred_running)
    commitments = [
        commitment_of(builder, batch)
        for batch in instance.in_progress
        if batch.patient not in running
    ]
    scale = weight_scale([patient.weight for patient in instance.patients])
    return PlanningProblem(instance, calendar, roster, builder, patients, commitments, scale)


def _slot_at(calendar: SiteCalendar, start: datetime) -> ShiftSlot | None:
    """The shift slot of the horizon that starts at this instant, if one does."""
    day = start.astimezone(calendar.zone).date()
    if not calendar.in_horizon(day):
        return None
    for shift in calendar.instance.site.shifts:
        slot = calendar.slot(day, shift)
        if slot.start == start:
            return slot
    return None


def _kept_option(
    builder: OptionBuilder, patient: Patient, slot: ShiftSlot, day: date
) -> PatientOptions:
    """A patient's options reduced to the one start (and collection date) the plan gives it."""
    product = builder.instance.product_by_id[patient.product]
    hospital = builder.instance.hospital_by_id[patient.hospital]
    options = PatientOptions(patient, product, hospital, [])
    # The builder's own check of one start (no public entry for a single start).
    option = builder._start_option(patient, product, hospital, slot, [day], options.rejections)
    options.starts += [] if option is None else [option]
    return options


def _copied(batch: Batch, **changes: object) -> Batch:
    """`dataclasses.replace` without its per-call introspection (thousands per simulated run)."""
    copy = Batch.__new__(Batch)
    copy.__dict__.update(batch.__dict__, **changes)
    return copy


def _rebased(batch: Batch, days: int) -> Batch:
    """The batch on a calendar that starts `days` later: day indices move, dates and instants stay."""
    return _copied(
        batch,
        end_day=batch.end_day - days,
        steps=[PlannedStep(s.step, s.date, s.shift_id, list(s.operators)) for s in batch.steps],
        assays=[
            PlannedAssay(a.assay, a.sample_day - days, a.start_day - days) for a in batch.assays
        ],
        release_day=batch.release_day - days,
        delivery_day=batch.delivery_day - days,
    )


def _rebased_running(batch: Batch, days: int, running: InProgress, start: date) -> Batch | None:
    """The last plan's batch as the running batch it is on a calendar that starts `days` later.

    What `_place_commitment` would make of it: the steps before the new horizon are done, an
    assay sampled before it started on its sample day (C11), the rest keep their days. None
    when the running batch is not this one (another product, seat or start).
    """
    if (
        running.product != batch.product.id
        or running.hospital != batch.hospital.id
        or running.suite != batch.suite
        or running.position != batch.position
    ):
        return None
    assays = []
    for assay in batch.assays:
        sample = assay.sample_day - days
        assays.append(
            PlannedAssay(assay.assay, sample, sample if sample < 0 else assay.start_day - days)
        )
    return _copied(
        batch,
        in_progress=True,
        apheresis_date=None,
        end_day=batch.end_day - days,
        steps=[
            PlannedStep(s.step, s.date, s.shift_id, list(s.operators))
            for s in batch.steps
            if s.date >= start
        ],
        assays=assays,
    )


def _keepable(last: Held | None, previous: Schedule, instance: Instance) -> dict[str, Batch]:
    """The last plan's batches that may be kept as they stand on `instance`, rebased to its calendar.

    Only when `previous` is that plan, and the site and the lab are the same (the events left them
    untouched; `hold` checks the suite classes): then a batch whose patient, product and hospital
    are the same needs only what it uses to be free (`KeepingPlanner.keep`), not a fresh option.
    """
    if (
        last is None
        or last.problem is None
        or last.batches is None
        or last.schedule is not previous
    ):
        return {}
    old = last.problem
    if old.instance.site is not instance.site or old.instance.qc_lab is not instance.qc_lab:
        return {}
    days = (instance.horizon.start - old.instance.horizon.start).days
    old_patients = {o.patient.id: o.patient for o in old.patients}
    patients = {p.id: p for p in instance.patients}
    keepable = {}
    running = {b.patient: b for b in instance.in_progress}
    for batch in last.batches:
        now_running = running.get(batch.patient_id)
        if now_running is not None:
            start = old.calendar.local(now_running.manufacturing_start)
            if (
                start == batch.start
                and batch.product is instance.product_by_id.get(now_running.product)
                and batch.hospital is instance.hospital_by_id.get(now_running.hospital)
            ):
                rebased = _rebased_running(batch, days, now_running, instance.horizon.start)
                if rebased is not None:
                    keepable[batch.patient_id] = rebased
            continue
        patient, before = patients.get(batch.patient_id), old_patients.get(batch.patient_id)
        if batch.in_progress or patient is None or before is None:
            continue
        if patient.locked and batch.apheresis_date != patient.previous_apheresis_date:
            continue
        if (
            batch.product is instance.product_by_id.get(patient.product)
            and batch.hospital is instance.hospital_by_id.get(patient.hospital)
            and patient.apheresis_window == before.apheresis_window
            and patient.infusion_window == before.infusion_window
        ):
            keepable[batch.patient_id] = _rebased(batch, days)
    return keepable


UNEXPLORED = "options not enumerated (nobody tries to place this patient today)"


def _unexplored(instance: Instance, patient: Patient) -> PatientOptions:
    """A patient nobody tries to place: no options (`hold` enumerates them if it needs them)."""
    product = instance.product_by_id[patient.product]
    hospital = instance.hospital_by_id[patient.hospital]
    return PatientOptions(patient, product, hospital, [], Counter({UNEXPLORED: 1}))


def _running_assignment(
    assignment: Assignment, batch: Batch, calendar: SiteCalendar
) -> Assignment | None:
    """A running batch kept as it stood, written from the plan in force's assignment (or None).

    The same batch loses the steps done before the new horizon and, once started, its
    collection date (C11 lists none): the rest of its assignment is unchanged.
    """
    steps = assignment.steps[len(assignment.steps) - len(batch.steps) :]
    same = (
        (assignment.suite, assignment.position) == (batch.suite, batch.position)
        and len(steps) == len(batch.steps)
        and all(
            s.operators == p.operators and s.date == p.date and s.shift == p.shift_id
            for s, p in zip(steps, batch.steps, strict=True)
        )
        and len(assignment.qc) == len(batch.assays)
        and all(
            q.start_date == calendar.date(a.start_day)
            for q, a in zip(assignment.qc, batch.assays, strict=True)
        )
        and assignment.release_date == calendar.date(batch.release_day)
        and assignment.delivery_date == calendar.date(batch.delivery_day)
    )
    if not same:
        return None
    if assignment.in_progress and len(steps) == len(assignment.steps):
        return assignment
    return assignment.model_copy(
        update={"in_progress": True, "apheresis_date": None, "steps": steps}
    )


def _place_running(
    planner: KeepingPlanner,
    problem: PlanningProblem,
    keepable: dict[str, Batch],
    deferred: set[str],
    order: list[InProgress],
) -> tuple[list[Batch] | None, InProgress | None]:
    """`place_commitments` in `order`, keeping a running batch of the last plan where it can be.

    The batches, or None and the running batch that found no team or lab day.
    """
    computed = {c.batch.patient: c for c in problem.commitments}
    batches = []
    for running in order:
        kept = keepable.get(running.patient) if running.patient in deferred else None
        if kept is not None:
            set_release_and_delivery(kept, running.infusion_window, problem.calendar)
            latest = problem.calendar.days - 1
            window = running.infusion_window
            if window is not None and window.latest is not None:
                latest = min(latest, problem.calendar.day(window.latest))
            if kept.delivery_day <= latest and planner.keep_running(kept):
                batches.append(kept)
                continue
        commitment = computed.get(running.patient)
        if commitment is None:
            commitment = computed[running.patient] = commitment_of(problem.builder, running)
            problem.commitments.append(commitment)
        batch = planner._place_commitment(commitment)
        if batch is None:
            return None, running
        batches.append(batch)
    return batches, None


# How often the running batches are placed again, the one that found no team first, before
# CP-SAT is asked (placing them one by one, an earlier batch may take the team a later one
# needed, where the later one could not move but the earlier one could).
RUNNING_REORDERS = 3


def hold(
    instance: Instance,
    previous: Schedule,
    insert: Iterable[str],
    reinsert_displaced: bool,
    time_limit: float,
    explain: bool = True,
    last: Held | None = None,
) -> Held:
    """The previous plan kept on `instance`, with `insert` (and maybe the displaced) placed anew.

    With `explain=False` (a simulated run, whose plans only its measures and the validator
    read) unscheduled patients get a placeholder reason instead of their starts tried, and a
    patient nobody will place gets no options. With `last` (the hold that gave `previous`),
    its batches are kept as they stand where all they use is still free, instead of being
    placed again from their start option (the same result, found without enumerating it).
    """
    started = time.monotonic()
    insert = list(dict.fromkeys(insert))
    collections = {
        a.patient: a.apheresis_date for a in previous.assignments if a.apheresis_date is not None
    }
    keepable = _keepable(last, previous, instance)
    wanted_set = None if explain else set(insert)
    running = {b.patient for b in instance.in_progress}
    kept_new = [p for p in keepable if p not in running]
    kept_running = [p for p in keepable if p in running]
    problem = _prepare_kept(instance, previous, collections, wanted_set, kept_new, kept_running)
    old = None if last is None else last.problem
    if keepable and old is not None and old.builder.classes != problem.builder.classes:
        keepable = {}  # a closure changed the suite classes: every start is checked again
    assays = {(a.patient, q.assay): q.start_date for a in previous.assignments for q in a.qc}
    teams, order = teams_of(previous), list(instance.in_progress)
    for _ in range(RUNNING_REORDERS + 1):
        planner = KeepingPlanner(problem, teams, collections, assays)
        batches, stuck = _place_running(planner, problem, keepable, set(kept_running), order)
        if stuck is None or stuck is order[0]:
            break
        order = [stuck, *(b for b in order if b is not stuck)]
    used_solver = time_limited = False
    if batches is None:
        computed = {c.batch.patient for c in problem.commitments}
        problem.commitments += [
            commitment_of(problem.builder, r)
            for r in instance.in_progress
            if r.patient not in computed
        ]
        impossible = [p for c in problem.commitments for p in c.problems]
        if impossible:
            # A running batch cannot be completed at all (a step of its start shift has too few
            # qualified operators rostered, say): no solver can help, the caller decides.
            seconds = time.monotonic() - started
            return Held(build_schedule(problem, None, seconds, infeasibility=impossible))
        # An absence left the running batches without teams the greedy finds: CP-SAT on the
        # running batches alone (a small model) finds their teams and shifts, or proves that no
        # plan can complete them; the plan is then kept around those teams as usual.
        alone = SolveOptions(time_limit=time_limit, workers=1, diagnose_infeasible=False)
        probe = solve(instance.model_copy(update={"patients": []}), alone)
        if probe.status == "INFEASIBLE":
            return Held(probe, used_solver=True)
        used_solver, time_limited = True, probe.status != "OPTIMAL"
        if probe.status in ("OPTIMAL", "FEASIBLE"):
            teams = {**teams, **teams_of(probe)}
            planner = KeepingPlanner(problem, teams, collections, assays)
            batches, _ = _place_running(planner, problem, {}, set(), list(instance.in_progress))
    if batches is None:
        # Still no teams (the probe ran out of time): CP-SAT plans the whole day (it may move
        # others too; counted in the report).
        fallback = SolveOptions(
            time_limit=time_limit,
            workers=1,
            start_batches=previous_plan_first(previous),
            diagnose_infeasible=False,  # the caller only needs to know (it retries the day)
        )
        planned = solve(instance, fallback)
        return Held(planned, used_solver=True, time_limited=planned.status != "OPTIMAL")
    index_of = {o.patient.id: i for i, o in enumerate(problem.patients)}
    by_id = {o.patient.id: o for o in problem.patients}
    instance_patients = {p.id: p for p in instance.patients}
    before = {
        a.patient: a for a in previous.assignments if not a.in_progress and a.patient in by_id
    }
    held = Held(previous, used_solver=used_solver, time_limited=time_limited)
    unchanged: set[str] = set()
    for patient_id in sorted(before, key=lambda p: (before[p].manufacturing_start, p)):
        options = by_id[patient_id]
        start = before[patient_id].manufacturing_start.astimezone(UTC)
        if patient_id in index_of and options.rejections.get(UNEXPLORED):
            # Deferred: kept as it stands if it can be, else its one start option after all.
            kept = keepable.get(patient_id)
            if kept is not None and planner.keep(kept, options):
                batches.append(kept)
                unchanged.add(patient_id)
                continue
            patient, slot = instance_patients[patient_id], _slot_at(problem.calendar, start)
            day = collections.get(patient_id)
            options = (
                _kept_option(problem.builder, patient, slot, day)
                if slot is not None and day is not None
                else problem.builder.patient_options(patient)
            )
            problem.patients[index_of[patient_id]] = by_id[patient_id] = options
        option = next((o for o in options.starts if o.slot.start.astimezone(UTC) == start), None)
        placed = planner.try_option(options, option) if option is not None else None
        if isinstance(placed, Batch):
            batches.append(placed)
        else:
            held.displaced.append(patient_id)
    wanted = [p for p in insert if p in by_id and p not in before]
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
    # A batch kept as it stands on its seat is the assignment the plan in force already has.
    reuse = {
        b.patient_id: before[b.patient_id]
        for b in batches
        if b.patient_id in unchanged and seats[b.patient_id] == (b.suite, b.position)
    }
    previous_by_patient = {a.patient: a for a in previous.assignments}
    for batch in batches:
        if batch.in_progress and batch.patient_id in keepable:
            assignment = previous_by_patient.get(batch.patient_id)
            written = (
                None
                if assignment is None
                else _running_assignment(assignment, batch, problem.calendar)
            )
            if written is not None:
                reuse[batch.patient_id] = written
    seconds = time.monotonic() - started
    outcome = SearchOutcome(status="SOLVED", batches=batches)
    held.schedule = build_schedule(problem, outcome, seconds, explain=explain, reuse=reuse)
    held.problem, held.batches = problem, batches
    return held
