"""Play one run's horizon forward under a policy, from one disruption day to the next.

On each day something happens, work started before 00:00 that day is fixed, the day's
disruptions become events (`apply_events`, the same event model as `replan`) and the policy
reacts: `replan` solves again with CP-SAT from the current plan (warm start, short time limit),
`repair` keeps everyone and inserts the failed and displaced patients into the earliest free
slot, `none` (the do-nothing reference) keeps everyone and places nobody anew. When the dates
depend on the plan (a batch fails part-way through *its* manufacturing), they are read off the
plan in force, so each policy meets the same draws at the dates its own plan gives them.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from models import Assignment, Instance, Schedule
from models.events import Event, Events, OperatorAbsent, SuiteDown
from scheduler.problem.options import class_of_position
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.apply_events import ReplanError, apply_events
from scheduler.workflows.replan import replan_with_instance
from scheduler.workflows.simulate.hold import Held, hold
from scheduler.workflows.simulate.restaff import restaff
from scheduler.workflows.simulate.sampling import ATTEMPTS, Disruptions
from scheduler.workflows.simulate.translate import (
    OCCUPANCY_MARK,
    RescueRules,
    cancelled_event,
    closure_hits,
    dropout_day,
    failed_event,
    failure_day,
    midnight,
    product_hours,
)

SOLVED = ("OPTIMAL", "FEASIBLE")


@dataclass
class Life:
    """One patient (or batch running at the start) through the run."""

    attempt: int = 0
    failures: list[date] = field(default_factory=list)  # the days batches were found failed
    failure_causes: list[str] = field(default_factory=list)
    dropped_on: date | None = None
    lost: bool = False  # the rescue batch failed too
    record: Assignment | None = None  # the current attempt's assignment, as last planned
    first_apheresis: date | None = None  # the first attempt's collection, as last planned
    date_changes: int = 0  # communicated collection dates moved by a re-plan
    withdrawn: int = 0  # communicated collection dates withdrawn (patient left unscheduled)


@dataclass
class Played:
    """The end of a run under one policy."""

    instance: Instance
    schedule: Schedule
    lives: dict[str, Life]
    event_days: int = 0
    events: int = 0
    solver_fallbacks: int = 0  # repair/none: running work did not fit greedily, CP-SAT placed it
    time_limited_solves: int = 0  # a solve (replan, or a fallback) ended at its limit, unproven
    failed_solves: int = 0  # replan: no schedule in time, the plan was kept (repair) instead
    absences_covered: int = 0  # absences dropped: running work had no team without them
    skipped: list[str] = field(default_factory=list)  # events the plan could not take, why
    quiet_days: int = 0  # days of absences only that touched no planned team: no reaction
    restaffed_days: int = 0  # days of absences only met by swapping team members (`restaff`)
    seconds: float = 0.0


@dataclass(frozen=True)
class _Trigger:
    day: date
    rank: int  # same day: drop-outs, failures, closures, absences
    key: tuple[Any, ...]
    who: str


class Player:
    """One run of one policy."""

    def __init__(
        self,
        instance: Instance,
        schedule: Schedule,
        draws: Disruptions,
        policy: str,
        time_limit: float,
        rescue: RescueRules,
    ) -> None:
        self.instance, self.schedule = instance, schedule
        self.draws, self.policy, self.time_limit, self.rescue = draws, policy, time_limit, rescue
        self.horizon_start = instance.horizon.start
        self.horizon_end = instance.horizon.start + timedelta(days=instance.horizon.days)
        self.material = {p.id: p.material for p in instance.patients}
        self.fired: set[tuple[Any, ...]] = set()
        self.waiting: list[str] = []  # repair: patients to insert as soon as room appears
        self.lives = {patient: Life() for patient in draws.patients}
        self.played = Played(instance, schedule, self.lives)
        # The plan in force in the planner's terms, when a kept plan (`hold`) gave it.
        starting = None if policy == "replan" else _starting_plan(instance, schedule)
        self.held: Held | None = None if starting is None else copy.copy(starting)
        self._record(schedule, own_events=set())

    # ----- the loop ---------------------------------------------------------------------------

    def play(self) -> Played:
        """Every disruption day of the horizon in order; the final instance and plan."""
        started = time.monotonic()
        today = self.horizon_start
        while True:
            triggers = [t for t in self._triggers(today) if t.key not in self.fired]
            if not triggers:
                break
            day = min(t.day for t in triggers)
            if day >= self.horizon_end:
                break
            today = day
            due = sorted((t for t in triggers if t.day == day), key=lambda t: (t.rank, t.key))
            self.fired.update(t.key for t in due)
            self._react(day, due)
        self.played.seconds = time.monotonic() - started
        return self.played

    def _triggers(self, today: date) -> list[_Trigger]:
        found: list[_Trigger] = []
        for patient, draws in self.draws.patients.items():
            life = self.lives[patient]
            if life.dropped_on is not None or life.lost or life.record is None:
                continue
            record = life.record
            dropped = dropout_day(record, draws, self.horizon_start)
            if dropped is not None:
                found.append(_Trigger(max(dropped, today), 0, (patient, "dropout"), patient))
            failed = failure_day(record, draws, life.attempt)
            if failed is not None:
                key = (patient, "failure", life.attempt)
                if failed >= today:
                    found.append(_Trigger(failed, 1, key, patient))
                else:  # found before the horizon (a batch running at its start): already known
                    self.fired.add(key)
        for index, closure in enumerate(self.draws.closures):
            found.append(_Trigger(closure.start, 2, ("closure", index), closure.suite))
        for index, absence in enumerate(self.draws.absences):
            found.append(_Trigger(absence.start, 3, ("absence", index), absence.operator))
        return found

    # ----- one day ----------------------------------------------------------------------------

    def _react(self, day: date, due: list[_Trigger]) -> None:
        at = midnight(day)
        events: list[Event] = []
        inserted: list[str] = []
        own: set[str] = set()
        instance, schedule = self.played.instance, self.played.schedule
        closing = [self.draws.closures[t.key[1]] for t in due if t.key[0] == "closure"]
        hits = [closure_hits(instance, schedule, c, at) for c in closing]
        closing_suites = {c.suite for c in closing}
        current = {a.patient: a for a in schedule.assignments}
        for trigger in due:
            if trigger.who not in current or trigger.who in own:
                continue  # released meanwhile, or already stopped today
            if trigger.key[1] == "dropout":
                patient = trigger.who
                own.add(patient)
                self.lives[patient].dropped_on = day
                free = at if current[patient].suite in closing_suites else None
                events.append(cancelled_event(patient, free))
            elif trigger.key[1] == "failure":
                events.append(
                    self._failure(trigger.who, day, "batch", current, own, inserted, closing_suites)
                )
        for hit in hits:
            for patient in hit.lost:
                if patient not in own:
                    events.append(
                        self._failure(
                            patient, day, "suite closure", current, own, inserted, closing_suites
                        )
                    )
            events += [cancelled_event(o, at) for o in hit.occupancies]
        for closure, hit in zip(closing, hits, strict=True):
            if hit.start < hit.end:
                events.append(
                    SuiteDown(
                        kind="suite_down",
                        suite=closure.suite,
                        start=hit.start,
                        end=hit.end,
                        reason="simulated closure",
                    )
                )
        absences: list[Event] = []
        for trigger in due:
            if trigger.key[0] == "absence":
                absence = self.draws.absences[trigger.key[1]]
                dates = [d for d in absence.dates(self.horizon_end) if d >= day]
                if dates:
                    absences.append(
                        OperatorAbsent(
                            kind="operator_absent", operator=absence.operator, dates=dates
                        )
                    )
        self.played.event_days += 1
        self.played.events += len(events) + len(absences)
        if not events and absences and self._restaffed(absences):
            self.played.restaffed_days += 1
            return
        if not events and absences and not self._touches(absences):
            # Nobody planned loses a team member: the plan stands as it is and needs no reaction
            # (no policy could place anyone it could not place on the last reaction day: an
            # absence only takes capacity away). The roster still loses the dates.
            self.played.instance = _without_rostered(self.played.instance, absences)
            self.played.quiet_days += 1
            return
        outcome = self._apply(day, events + absences, inserted)
        if outcome is None and absences:
            self.played.absences_covered += len(absences)
            outcome = self._apply(day, events, inserted)
        if outcome is None:
            self.played.skipped.append(
                f"{day}: no valid plan after the day's events; kept the plan"
            )
            return
        self.played.instance, self.played.schedule = outcome
        self._record(outcome[1], own)

    def _restaffed(self, absences: list[Event]) -> bool:
        """Whether the absences were met by swapping team members alone (`restaff`)."""
        held = self.held
        if (
            self.policy == "replan"
            or held is None
            or held.problem is None
            or held.batches is None
            or held.schedule is not self.played.schedule
            or not self._touches(absences)
        ):
            return False
        away = {
            (a.operator, day) for a in absences if isinstance(a, OperatorAbsent) for day in a.dates
        }
        instance = _without_rostered(self.played.instance, absences)
        done = restaff(instance, held.schedule, held.problem, held.batches, away)
        if done is None:
            return False
        self.played.instance, self.played.schedule = instance, done.schedule
        held.schedule, held.problem, held.batches = done.schedule, done.problem, done.batches
        self._record(done.schedule, set())
        return True

    def _touches(self, absences: list[Event]) -> bool:
        """Whether an absent operator works a step of the plan in force on one of their dates."""
        away = {
            (a.operator, day) for a in absences if isinstance(a, OperatorAbsent) for day in a.dates
        }
        return any(
            (operator, step.date) in away
            for assignment in self.played.schedule.assignments
            for step in assignment.steps
            for operator in step.operators
        )

    def _failure(
        self,
        patient: str,
        day: date,
        cause: str,
        current: dict[str, Assignment],
        own: set[str],
        inserted: list[str],
        closing: set[str],
    ) -> Event:
        life = self.lives[patient]
        own.add(patient)
        life.failures.append(day)
        life.failure_causes.append(cause)
        life.record = None
        _, changeover = product_hours(self.played.instance, patient)
        # A batch stopped part-way frees its position after cleaning; a finished one already has.
        free = midnight(day) + timedelta(hours=changeover if cause == "batch" else 0)
        finished = current[patient].manufacturing_end.replace(tzinfo=None) <= midnight(day)
        if finished or current[patient].suite in closing:
            free = midnight(day)  # nothing left to clean, or the suite closes at once anyway
        if life.attempt + 1 >= ATTEMPTS:
            life.lost = True
            return cancelled_event(patient, free)
        life.attempt += 1
        inserted.append(patient)
        return failed_event(patient, day, free, self.rescue, self.material.get(patient))

    def _apply(
        self, day: date, events: list[Event], inserted: list[str]
    ) -> tuple[Instance, Schedule] | None:
        """Apply the events and let the policy react; None when no valid plan comes out."""
        at = midnight(day)
        instance, previous = self.played.instance, self.played.schedule
        document = Events(as_of=at, events=events)
        try:
            new_instance = apply_events(instance, previous, document, at)
        except ReplanError as error:
            self.played.skipped += [f"{day}: {p}" for p in error.problems]
            return None
        if self.policy == "replan":
            options = SolveOptions(time_limit=self.time_limit, workers=1, seed=0)
            outcome = replan_with_instance(instance, previous, document, options, at)
            if outcome.schedule.status in SOLVED:
                if outcome.schedule.status != "OPTIMAL":
                    self.played.time_limited_solves += 1
                return outcome.instance, outcome.schedule
            self.played.failed_solves += 1
        repair = self.policy != "none"
        self.waiting = [p for p in dict.fromkeys(self.waiting + inserted)]
        waiting = self.waiting if repair else []
        held = hold(
            new_instance, previous, waiting, repair, self.time_limit, explain=False, last=self.held
        )
        if held.schedule.status not in SOLVED:
            return None
        self.played.solver_fallbacks += held.used_solver
        if held.time_limited:
            # The fallback stopped at its time limit: this run depends on the machine's speed.
            self.played.time_limited_solves += 1
        self.held = held
        if repair:
            scheduled = {a.patient for a in held.schedule.assignments}
            self.waiting = [
                p
                for p in dict.fromkeys(self.waiting + held.displaced)
                if p not in scheduled and any(q.id == p for q in new_instance.patients)
            ]
        return new_instance, held.schedule

    def _record(self, schedule: Schedule, own_events: set[str]) -> None:
        """What the new plan says of every patient: their current batch, moved or withdrawn dates."""
        for assignment in schedule.assignments:
            life = self.lives.get(assignment.patient)
            if life is None or OCCUPANCY_MARK in assignment.patient:
                continue
            if life.attempt == 0:
                before = life.record.apheresis_date if life.record is not None else None
                if before is not None and assignment.apheresis_date not in (None, before):
                    life.date_changes += 1
                if assignment.apheresis_date is not None:  # a running batch lists none (C11)
                    life.first_apheresis = assignment.apheresis_date
            life.record = assignment
        for entry in schedule.unscheduled:
            life = self.lives.get(entry.patient)
            if life is None:
                continue
            record = life.record
            if (
                life.attempt == 0
                and record is not None
                and record.apheresis_date is not None
                and entry.patient not in own_events
            ):
                life.withdrawn += 1
            life.record = None


# The published plan in the planner's terms, per process: every run starts from it.
_STARTING: dict[tuple[int, int], tuple[Instance, Schedule, Held | None]] = {}


def _starting_plan(instance: Instance, schedule: Schedule) -> Held | None:
    """The published plan as a kept plan (`hold` with no event), if that is exactly the plan.

    Then the first reaction day of every run keeps its batches as they stand (`hold(last=…)`)
    instead of placing each again from its start. None when keeping it on the unchanged
    instance would give anything else (it gives the same plan, team for team: tested).
    """
    key = (id(instance), id(schedule))
    known = _STARTING.get(key)
    if known is None or known[0] is not instance or known[1] is not schedule:
        held: Held | None = hold(instance, schedule, [], False, 5.0, explain=False)
        assert held is not None
        published = {a.patient: a for a in schedule.assignments}
        kept = {a.patient: a for a in held.schedule.assignments}
        # Seats are coloured again by `hold`; the published ones are as valid, and are kept.
        same = (
            held.problem is not None
            and held.batches is not None
            and kept.keys() == published.keys()
            and all(
                kept[p].model_copy(update={"suite": a.suite, "position": a.position}) == a
                for p, a in published.items()
            )
        )
        if same and held.batches is not None:
            classes = held.problem.builder.classes if held.problem is not None else []
            for batch in held.batches:
                seat = published[batch.patient_id]
                batch.suite, batch.position = seat.suite, seat.position
                # The seat's own class: the greedy may have counted the batch in another class
                # of the same type, and seats are coloured class by class (C5).
                batch.class_index = class_of_position(classes, seat.suite, seat.position)
            held.schedule = schedule
        else:
            held = None
        _STARTING.clear()
        known = _STARTING[key] = (instance, schedule, held)
    return known[2]


def _without_rostered(instance: Instance, absences: list[Event]) -> Instance:
    """The instance with the absent operators' roster entries on their dates removed."""
    away: dict[str, set[date]] = {}
    for absence in absences:
        if isinstance(absence, OperatorAbsent):
            away.setdefault(absence.operator, set()).update(absence.dates)
    operators = [
        operator.model_copy(
            update={"roster": [e for e in operator.roster if e.date not in away[operator.id]]}
        )
        if operator.id in away
        else operator
        for operator in instance.operators
    ]
    return instance.model_copy(update={"operators": operators})


def play(
    instance: Instance,
    schedule: Schedule,
    draws: Disruptions,
    policy: str,
    time_limit: float,
    rescue: RescueRules,
) -> Played:
    """One run of one policy (`replan`, `repair` or `none`)."""
    return Player(instance, schedule, draws, policy, time_limit, rescue).play()
