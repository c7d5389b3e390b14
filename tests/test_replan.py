"""Re-planning under disruption: each event kind on generated sites, from the command line too.

One module over 500 lines on purpose: one test per event kind, in the order of the events
format, sharing the generated sites and their solved plans.

Every new schedule must pass the independent validator for the new instance; work started
before `as_of` must be unchanged; patients the event does not touch keep their dates when the
event frees capacity; the diff names the event that caused a change.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import Assignment, Instance, Schedule, to_json
from models.events import Events, load_events
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.replan import (
    ReplanError,
    Replanned,
    apply_events,
    replan,
    replan_with_instance,
)
from tests.helpers import solve_generated, validated_files
from validator import validate

OPTIONS = SolveOptions(time_limit=30, workers=2, seed=0)


@cache
def planned(size: str, seed: int, scenario: str) -> tuple[Instance, Schedule]:
    """A generated site and its solved, validated plan (the plan everybody was told about)."""
    return solve_generated(
        size, seed, scenario, time_limit=OPTIONS.time_limit, workers=OPTIONS.workers
    )


def new_patients(schedule: Schedule) -> list[Assignment]:
    """Assignments of new patients in start order."""
    return sorted(
        (a for a in schedule.assignments if not a.in_progress), key=lambda a: a.manufacturing_start
    )


def local(moment: datetime, zone: str = "Europe/Brussels") -> str:
    """An output datetime as the events' local `YYYY-MM-DDTHH:MM`."""
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")


def events(as_of: str | None, *items: dict[str, Any], instance: Instance) -> Events:
    """A checked events document."""
    document: dict[str, Any] = {"format": "cart-schedule-events/1", "events": list(items)}
    if as_of is not None:
        document["as_of"] = as_of
    return load_events(document, instance)


def replanned(instance: Instance, previous: Schedule, news: Events) -> Replanned:
    """Re-plan and check the new schedule is valid for the new instance."""
    outcome = replan_with_instance(instance, previous, news, OPTIONS)
    assert outcome.schedule.status in ("OPTIMAL", "FEASIBLE"), outcome.schedule.status
    assert outcome.schedule.instance == outcome.instance.name
    assert validate(outcome.instance, outcome.schedule) == []
    return outcome


def assert_started_work_unchanged(previous: Schedule, outcome: Replanned, as_of: datetime) -> None:
    """Every batch that started before `as_of` is in progress at the same suite position and start."""
    cutoff = as_of.replace(tzinfo=ZoneInfo(outcome.instance.site.timezone)).astimezone(UTC)
    in_progress = {b.patient: b for b in outcome.instance.in_progress}
    for before in previous.assignments:
        if before.in_progress or before.manufacturing_start.astimezone(UTC) >= cutoff:
            continue
        after = outcome.schedule.assignment_of(before.patient)
        if before.patient not in in_progress:
            continue  # released before the new horizon, or stopped by an event
        assert after is not None and after.in_progress
        assert (after.suite, after.position) == (before.suite, before.position)
        assert after.manufacturing_start.astimezone(UTC) == before.manufacturing_start.astimezone(
            UTC
        )


def dates_of(schedule: Schedule) -> dict[str, date | None]:
    """Apheresis date per new patient."""
    return {a.patient: a.apheresis_date for a in schedule.assignments if not a.in_progress}


# ----- nothing happened, time passed -----------------------------------------------------------


def test_a_replan_without_events_keeps_every_communicated_date() -> None:
    instance, previous = planned("s", 1, "normal")
    outcome = replanned(instance, previous, events(None, instance=instance))
    assert outcome.schedule.objective is not None and outcome.schedule.objective.plan_changes == 0
    assert dates_of(outcome.schedule) == dates_of(previous)
    # Manufacturing starts are internal to the site and may trade places at equal wait; dates may not.
    assert {c.change for c in outcome.diff.changes} <= {"moved", "reseated"}
    assert all(c.apheresis_days in (None, 0) for c in outcome.diff.changes)


def test_work_started_before_as_of_is_fixed_and_collections_done_keep_their_date() -> None:
    instance, previous = planned("s", 1, "normal")
    third = new_patients(previous)[2]
    as_of = third.manufacturing_start.astimezone(ZoneInfo("Europe/Brussels")).replace(
        tzinfo=None
    ) + timedelta(hours=1)
    outcome = replanned(
        instance, previous, events(as_of.strftime("%Y-%m-%dT%H:%M"), instance=instance)
    )
    assert outcome.instance.horizon.start == as_of.date()
    assert outcome.instance.horizon.start + timedelta(
        days=outcome.instance.horizon.days
    ) == instance.horizon.start + timedelta(days=instance.horizon.days)
    assert third.patient in {b.patient for b in outcome.instance.in_progress}
    assert third.patient in outcome.diff.started
    assert_started_work_unchanged(previous, outcome, as_of)
    for patient in outcome.instance.patients:
        before = previous.assignment_of(patient.id)
        if (
            before is not None
            and before.apheresis_date is not None
            and before.apheresis_date < as_of.date()
        ):
            assert patient.collected_on == before.apheresis_date
    assert outcome.schedule.objective is not None and outcome.schedule.objective.plan_changes == 0


# ----- patients ----------------------------------------------------------------------------------


def test_a_cancelled_patient_frees_capacity_and_nobody_else_moves() -> None:
    instance, previous = planned("s", 1, "normal")
    leaving = new_patients(previous)[5].patient
    outcome = replanned(
        instance,
        previous,
        events(
            None,
            {"id": "ev-cancel", "kind": "patient_cancelled", "patient": leaving},
            instance=instance,
        ),
    )
    assert leaving not in {p.id for p in outcome.instance.patients}
    assert outcome.schedule.assignment_of(leaving) is None
    assert outcome.schedule.objective is not None and outcome.schedule.objective.plan_changes == 0
    kept = {p: d for p, d in dates_of(previous).items() if p != leaving}
    assert {p: d for p, d in dates_of(outcome.schedule).items() if p in kept} == kept
    change = outcome.diff.of(leaving)
    assert change is not None and change.change == "cancelled" and change.caused_by == ["ev-cancel"]


def test_a_delayed_patient_is_collected_in_its_new_window_and_the_diff_names_the_event() -> None:
    instance, previous = planned("s", 1, "normal")
    before = new_patients(previous)[6]
    assert before.apheresis_date is not None
    window = {
        "earliest": str(before.apheresis_date + timedelta(days=7)),
        "latest": str(before.apheresis_date + timedelta(days=12)),
    }
    news = events(
        None,
        {
            "id": "ev-late",
            "kind": "patient_delayed",
            "patient": before.patient,
            "apheresis_window": window,
        },
        instance=instance,
    )
    outcome = replanned(instance, previous, news)
    patient = next(p for p in outcome.instance.patients if p.id == before.patient)
    assert patient.previous is None  # the hospital asked for the move: the old date binds nobody
    after = outcome.schedule.assignment_of(before.patient)
    change = outcome.diff.of(before.patient)
    assert change is not None and "ev-late" in change.caused_by
    if after is not None:
        assert after.apheresis_date is not None
        assert (
            patient.apheresis_window.earliest
            <= after.apheresis_date
            <= patient.apheresis_window.latest
        )
        assert (
            change.change == "moved"
            and change.apheresis_days is not None
            and change.apheresis_days >= 7
        )
    else:
        assert change.change == "newly_unscheduled" and change.reasons


def test_an_added_patient_is_scheduled_or_told_why_not() -> None:
    instance, previous = planned("s", 1, "normal")
    template = instance.patients[-1]
    added = template.model_dump(mode="json", exclude_unset=True) | {
        "id": "P-NEW",
        "previous": None,
        "locked": False,
        "collected_on": None,
    }
    outcome = replanned(
        instance,
        previous,
        events(
            None, {"id": "ev-new", "kind": "patient_added", "patient": added}, instance=instance
        ),
    )
    change = outcome.diff.of("P-NEW")
    assert change is not None and change.caused_by == ["ev-new"]
    assert change.change in ("newly_scheduled", "newly_unscheduled")
    assert (outcome.schedule.assignment_of("P-NEW") is not None) == (
        change.change == "newly_scheduled"
    )


# ----- failed batches: a DST week, Christmas ---------------------------------------------------


def _fail_a_started_batch(
    size: str, seed: int, scenario: str, pick: int, free_after_days: int
) -> tuple[Instance, Schedule, Replanned, Assignment, datetime, datetime]:
    instance, previous = planned(size, seed, scenario)
    zone = ZoneInfo(instance.site.timezone)
    failed = new_patients(previous)[pick]
    start = failed.manufacturing_start.astimezone(zone).replace(tzinfo=None)
    as_of = start + timedelta(days=2)
    free_from = start + timedelta(days=free_after_days)
    window = {
        "earliest": str(as_of.date() + timedelta(days=2)),
        "latest": str(as_of.date() + timedelta(days=12)),
    }
    news = events(
        as_of.strftime("%Y-%m-%dT%H:%M"),
        {
            "id": "ev-fail",
            "kind": "batch_failed",
            "patient": failed.patient,
            "suite_free_from": free_from.strftime("%Y-%m-%dT%H:%M"),
            "apheresis_window": window,
        },
        instance=instance,
    )
    return instance, previous, replanned(instance, previous, news), failed, as_of, free_from


def _assert_failed_batch_handled(
    instance: Instance,
    previous: Schedule,
    outcome: Replanned,
    failed: Assignment,
    as_of: datetime,
    free_from: datetime,
) -> None:
    zone = ZoneInfo(instance.site.timezone)
    assert_started_work_unchanged(previous, outcome, as_of)
    original = next(p for p in instance.patients if p.id == failed.patient)
    patient = next(p for p in outcome.instance.patients if p.id == failed.patient)
    assert patient.weight == 2 * original.weight  # more urgent now
    assert patient.collected_on is None and patient.previous is None
    # The failed batch holds its own position, and only that one, until suite_free_from.
    occupancy = outcome.schedule.assignment_of(f"{failed.patient}~failed")
    assert (
        occupancy is not None
        and occupancy.in_progress
        and occupancy.steps == []
        and occupancy.qc == []
    )
    assert (occupancy.suite, occupancy.position) == (failed.suite, failed.position)
    product = next(
        p
        for p in outcome.instance.products
        if p.id
        == next(b.product for b in outcome.instance.in_progress if b.patient == occupancy.patient)
    )
    freed = occupancy.manufacturing_end.astimezone(UTC) + timedelta(hours=product.changeover_hours)
    assert freed == free_from.replace(tzinfo=zone).astimezone(UTC)
    for other in outcome.schedule.assignments:
        if (
            (other.suite, other.position) == (failed.suite, failed.position)
            and other.patient != occupancy.patient
            and not other.in_progress
        ):
            assert other.manufacturing_start.astimezone(UTC) >= freed
    change = outcome.diff.of(failed.patient)
    assert change is not None and "ev-fail" in change.caused_by
    after = outcome.schedule.assignment_of(failed.patient)
    if after is not None:
        assert change.change == "moved" and after.apheresis_date is not None
        assert after.apheresis_date >= as_of.date() + timedelta(days=2)
    else:
        assert change.change == "newly_unscheduled" and change.reasons


def test_a_batch_failing_in_a_dst_week_blocks_its_position_across_the_clock_change() -> None:
    # dst seed 1: spring, the clock goes forward on 2027-03-28 (day 6); pick a batch started before it
    instance, previous = planned("s", 1, "dst")
    change_day = date(2027, 3, 28)
    pick = max(
        i
        for i, a in enumerate(new_patients(previous))
        if a.manufacturing_start.date() <= change_day - timedelta(days=3)
    )
    instance, previous, outcome, failed, as_of, free_from = _fail_a_started_batch(
        "s", 1, "dst", pick, free_after_days=5
    )
    assert as_of.date() <= change_day < free_from.date()  # the occupancy spans the clock change
    _assert_failed_batch_handled(instance, previous, outcome, failed, as_of, free_from)


def test_a_batch_failing_over_the_christmas_closures_is_recollected_when_hospitals_collect() -> (
    None
):
    instance, previous = planned("s", 1, "holidays")
    assert instance.horizon.start == date(2026, 12, 21)
    instance, previous, outcome, failed, as_of, free_from = _fail_a_started_batch(
        "s", 1, "holidays", 0, free_after_days=6
    )
    assert as_of.date() <= date(2026, 12, 25) <= free_from.date() + timedelta(days=3)
    _assert_failed_batch_handled(instance, previous, outcome, failed, as_of, free_from)


def test_a_batch_that_has_not_started_cannot_fail() -> None:
    instance, previous = planned("xs", 1, "normal")
    last = new_patients(previous)[-1]
    news = events(
        None,
        {
            "kind": "batch_failed",
            "patient": last.patient,
            "suite_free_from": "2026-12-10T00:00",
            "apheresis_window": {"earliest": "2026-12-10", "latest": "2026-12-14"},
        },
        instance=instance,
    )
    with pytest.raises(ReplanError) as error:
        apply_events(instance, previous, news)
    assert [p.path for p in error.value.problems] == ["events[0].patient"]
    assert "has not started" in error.value.problems[0].message


# ----- resources ---------------------------------------------------------------------------------


def test_a_suite_down_moves_the_patients_who_used_it_and_names_the_event() -> None:
    instance, previous = planned("s", 1, "normal")
    victim = new_patients(previous)[8]
    start = victim.manufacturing_start.astimezone(ZoneInfo("Europe/Brussels")).replace(tzinfo=None)
    down = {
        "id": "ev-down",
        "kind": "suite_down",
        "suite": victim.suite,
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"),
        "reason": "environmental excursion",
    }
    outcome = replanned(instance, previous, events(None, down, instance=instance))
    suite = outcome.instance.suite_by_id[victim.suite]
    assert suite.unavailable[-1].reason == "environmental excursion"
    after = outcome.schedule.assignment_of(victim.patient)
    assert (
        after is None
        or after.suite != victim.suite
        or after.manufacturing_start != victim.manufacturing_start
    )
    change = outcome.diff.of(victim.patient)
    assert change is not None and change.caused_by == ["ev-down"]


def test_a_suite_down_over_started_work_is_refused_with_its_path() -> None:
    instance, previous = planned("xs", 1, "normal")
    first = new_patients(previous)[0]
    start = first.manufacturing_start.astimezone(ZoneInfo("Europe/Brussels")).replace(tzinfo=None)
    as_of = (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    news = events(
        as_of,
        {
            "kind": "operator_absent",
            "operator": instance.operators[0].id,
            "dates": [str(start.date())],
        },
        {
            "kind": "suite_down",
            "suite": first.suite,
            "start": as_of,
            "end": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        instance=instance,
    )
    with pytest.raises(ReplanError) as error:
        apply_events(instance, previous, news)
    assert {p.path for p in error.value.problems} == {"events[1]"}  # the absence alone is fine
    assert any(first.patient in p.message for p in error.value.problems)


def test_an_absent_operator_is_on_no_step_of_those_dates() -> None:
    instance, previous = planned("s", 1, "normal")
    step = next(s for a in new_patients(previous)[4:] for s in a.steps)
    operator, day = step.operators[0], step.date
    news = events(
        None,
        {
            "id": "ev-sick",
            "kind": "operator_absent",
            "operator": operator,
            "dates": [str(day), str(day + timedelta(days=1))],
        },
        instance=instance,
    )
    outcome = replanned(instance, previous, news)
    for assignment in outcome.schedule.assignments:
        for planned_step in assignment.steps:
            assert not (
                operator in planned_step.operators
                and planned_step.date in (day, day + timedelta(days=1))
            )
    for change in outcome.diff.changes:
        before = previous.assignment_of(change.patient)
        used = before is not None and any(
            operator in s.operators and s.date in (day, day + timedelta(days=1))
            for s in before.steps
        )
        assert ("ev-sick" in change.caused_by) == used


def test_a_qc_capacity_cut_is_honoured_by_solver_and_validator() -> None:
    instance, previous = planned("s", 1, "normal")
    assay = new_patients(previous)[3].qc[0]
    news = events(
        None,
        {
            "id": "ev-lab",
            "kind": "qc_capacity_changed",
            "assay": assay.assay,
            "dates": [str(assay.start_date)],
            "capacity": 0,
        },
        instance=instance,
    )
    outcome = replanned(instance, previous, news)
    assert outcome.instance.qc_lab.capacity_on(assay.assay, assay.start_date) == 0
    for assignment in outcome.schedule.assignments:
        assert all(
            not (q.assay == assay.assay and q.start_date == assay.start_date)
            for q in assignment.qc
            if q.start_date >= outcome.instance.horizon.start
        )
    change = outcome.diff.of(new_patients(previous)[3].patient)
    assert change is None or "ev-lab" in change.caused_by
    # The validator reads the same field: the previous plan breaks the cut.
    cut = outcome.instance.model_copy(update={"name": previous.instance})
    assert any(v.rule == "C7" and "QC capacity is 0" in v.message for v in validate(cut, previous))


def test_a_qc_retest_samples_the_assay_again_on_its_date() -> None:
    instance, previous = planned("s", 1, "normal")
    batch = new_patients(previous)[0]
    assay = batch.qc[0]
    zone = ZoneInfo("Europe/Brussels")
    as_of = batch.manufacturing_start.astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    retest_from = max(assay.sample_date or assay.start_date, as_of.date()) + timedelta(days=2)
    news = events(
        as_of.strftime("%Y-%m-%dT%H:%M"),
        {
            "id": "ev-oos",
            "kind": "qc_retest",
            "patient": batch.patient,
            "assay": assay.assay,
            "from": str(retest_from),
        },
        instance=instance,
    )
    outcome = replanned(instance, previous, news)
    after = outcome.schedule.assignment_of(batch.patient)
    assert after is not None and after.in_progress
    retest = next(q for q in after.qc if q.assay == assay.assay)
    assert retest.sample_date == retest_from and retest.start_date >= retest_from
    assert after.release_date >= retest.end_date


# ----- the command line --------------------------------------------------------------------------


def test_cli_replan_writes_the_new_schedule_and_instance_and_prints_the_diff(
    tmp_path: Path,
) -> None:
    instance, previous = planned("xs", 1, "normal")
    (tmp_path / "instance.json").write_text(to_json(instance))
    (tmp_path / "plan.json").write_text(to_json(previous))
    victim = new_patients(previous)[-1]
    start = victim.manufacturing_start.astimezone(ZoneInfo("Europe/Brussels")).replace(tzinfo=None)
    document = [
        {
            "id": "ev-down",
            "kind": "suite_down",
            "suite": victim.suite,
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
        }
    ]
    (tmp_path / "events.json").write_text(json.dumps(document))
    result = CliRunner().invoke(
        app,
        [
            "replan",
            str(tmp_path / "instance.json"),
            "--previous",
            str(tmp_path / "plan.json"),
            "--events",
            str(tmp_path / "events.json"),
            "-o",
            str(tmp_path / "new.json"),
            "--time-limit",
            "20",
            "--workers",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    validated_files(tmp_path / "new.instance.json", tmp_path / "new.json")
    assert "re-plan as of" in result.output and "ev-down" in result.output


def test_cli_replan_lists_every_bad_event_with_its_path_and_exits_2(tmp_path: Path) -> None:
    instance, previous = planned("xs", 1, "normal")
    (tmp_path / "instance.json").write_text(to_json(instance))
    (tmp_path / "plan.json").write_text(to_json(previous))
    (tmp_path / "events.json").write_text(
        json.dumps(
            [
                {
                    "kind": "suite_down",
                    "suite": "S99",
                    "start": "2026-12-03T00:00",
                    "end": "2026-12-04T00:00",
                },
                {"kind": "operator_absent", "operator": "NOBODY", "dates": ["2026-12-03"]},
            ]
        )
    )
    result = CliRunner().invoke(
        app,
        [
            "replan",
            str(tmp_path / "instance.json"),
            "--previous",
            str(tmp_path / "plan.json"),
            "--events",
            str(tmp_path / "events.json"),
            "-o",
            str(tmp_path / "new.json"),
        ],
    )
    assert result.exit_code == 2
    assert "events[0].suite: unknown suite 'S99'" in result.output
    assert "events[1].operator: unknown operator 'NOBODY'" in result.output
    assert not (tmp_path / "new.json").exists()


def test_replan_returns_the_schedule_and_the_diff() -> None:
    instance, previous = planned("xs", 1, "normal")
    news = events(None, instance=instance)
    schedule, diff = replan(instance, previous, news, OPTIONS)
    assert schedule.status in ("OPTIMAL", "FEASIBLE") and diff.instance_to == schedule.instance
    assert validate(apply_events(instance, previous, news), schedule) == []
    json.dumps(diff.to_dict())
