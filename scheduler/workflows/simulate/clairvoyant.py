"""The clairvoyant reference: every disruption of the run known at the start, solved once.

The instance it solves is the plan's, with at the horizon start: drop-outs cancelled; a patient
whose first batch fails (or is out of specification) made once, as if the failed batch had
never been, but without the end of its infusion window (as a rescue has none); a patient whose
rescue batch fails too cancelled; a batch already running that fails, failed on its day (its
position kept until then, a new collection after); every suite closure and absence in the
instance. Lost batches cost the clairvoyant nothing and it chooses every date freely, so on the
same run no policy treats more weight — unless the solve hit its time limit (marked).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from models import Instance, Schedule
from models.events import Event, Events, OperatorAbsent, PatientDelayed, SuiteDown
from models.instance import OpenDateWindow
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.apply_events import ReplanError, apply_events
from scheduler.workflows.simulate.sampling import Disruptions
from scheduler.workflows.simulate.translate import (
    RescueRules,
    cancelled_event,
    closure_hits,
    failed_event,
    failure_day,
    midnight,
    product_hours,
)
from scheduler.workflows.solve import solve
from scheduler.workflows.warm_start import previous_plan_first


@dataclass
class Clairvoyant:
    """The clairvoyant plan of one run."""

    instance: Instance
    schedule: Schedule
    time_limited: bool  # the solve did not prove its plan optimal
    lost: set[str]  # patients it cannot treat: dropped out, or both batches fail
    dropped: set[str]  # the drop-outs among them
    rescued: dict[str, date]  # running batches that fail: the day they are found
    absences_covered: int = 0
    problems: list[str] | None = None


def _events(
    instance: Instance, schedule: Schedule, draws: Disruptions, rescue: RescueRules
) -> tuple[list[Event], list[Event], set[str], dict[str, date]]:
    """The events of the run at the horizon start, the absences apart; who is lost, who rescued."""
    start = instance.horizon.start
    at = midnight(start)
    horizon_end = start + timedelta(days=instance.horizon.days)
    running = {b.patient for b in instance.in_progress}
    planned = {a.patient: a for a in schedule.assignments}
    events: list[Event] = []
    lost: set[str] = set()
    rescued: dict[str, date] = {}
    free_at: dict[str, date] = {}
    for patient in instance.patients:
        d = draws.patients[patient.id]
        twice = (d.fails[0] or d.out_of_spec[0]) and (d.fails[1] or d.out_of_spec[1])
        if d.dropout or twice:
            events.append(cancelled_event(patient.id))
            lost.add(patient.id)
        elif d.fails[0] or d.out_of_spec[0]:
            events.append(
                PatientDelayed(
                    kind="patient_delayed",
                    patient=patient.id,
                    apheresis_window=patient.apheresis_window,
                    infusion_window=OpenDateWindow(earliest=patient.infusion_window.earliest),
                )
            )
    for closure in draws.closures:
        for hit in closure_hits(instance, schedule, closure, at).lost:
            free_at[hit] = min(free_at.get(hit, closure.start), closure.start)
    for batch_id in sorted(running):
        d = draws.patients[batch_id]
        found = failure_day(planned[batch_id], d, 0)
        if found is not None and found < start:
            found = None  # found before the horizon: not a disruption of this plan
        if batch_id in free_at and (found is None or free_at[batch_id] < found):
            found = free_at[batch_id]
        if d.dropout:
            events.append(cancelled_event(batch_id, at))
            lost.add(batch_id)
        elif found is not None and found < horizon_end:
            _, changeover = product_hours(instance, batch_id)
            free = max(at, midnight(found) + timedelta(hours=changeover))
            if batch_id in free_at:
                free = min(free, midnight(free_at[batch_id]))
            if d.fails[1] or d.out_of_spec[1]:
                events.append(cancelled_event(batch_id, free))
                lost.add(batch_id)
            else:
                events.append(failed_event(batch_id, found, free, rescue, None))
                rescued[batch_id] = found
    for closure in draws.closures:
        hits = closure_hits(instance, schedule, closure, at)
        if hits.start < hits.end:
            events.append(
                SuiteDown(
                    kind="suite_down",
                    suite=closure.suite,
                    start=hits.start,
                    end=hits.end,
                    reason="simulated closure",
                )
            )
    absences: list[Event] = []
    for absence in draws.absences:
        dates = absence.dates(horizon_end)
        if dates:
            absences.append(
                OperatorAbsent(kind="operator_absent", operator=absence.operator, dates=dates)
            )
    return events, absences, lost, rescued


def clairvoyant(
    instance: Instance,
    schedule: Schedule,
    draws: Disruptions,
    rescue: RescueRules,
    time_limit: float,
) -> Clairvoyant:
    """Solve the run's instance with every disruption known at the horizon start."""
    events, absences, lost, rescued = _events(instance, schedule, draws, rescue)
    dropped = {p for p, d in draws.patients.items() if d.dropout}
    at = midnight(instance.horizon.start)
    options = SolveOptions(
        time_limit=time_limit, workers=1, seed=0, start_batches=previous_plan_first(schedule)
    )
    covered = 0
    for attempt in (events + absences, events):
        try:
            new_instance = apply_events(instance, schedule, Events(as_of=at, events=attempt), at)
        except ReplanError as error:
            return Clairvoyant(
                instance,
                schedule,
                False,
                lost,
                dropped,
                rescued,
                0,
                [str(p) for p in error.problems],
            )
        solved = solve(new_instance, options)
        if solved.status in ("OPTIMAL", "FEASIBLE"):
            return Clairvoyant(
                new_instance, solved, solved.status != "OPTIMAL", lost, dropped, rescued, covered
            )
        covered = len(absences)
    return Clairvoyant(new_instance, solved, True, lost, dropped, rescued, covered, ["no schedule"])
