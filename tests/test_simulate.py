"""Disruption simulation (issue 17 part 1): reproducible, every final plan valid, references in order.

A small generated site (s, seed 1, normal) solved once; a handful of runs with raised rates so
that every kind of disruption (failures, out of specification, drop-outs, suite closures,
absences) happens in them.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from models import Instance, Schedule, load_instance, to_json
from models.events import Events, OperatorAbsent
from scheduler.problem.options import class_of_position
from scheduler.workflows.apply_events import apply_events
from scheduler.workflows.simulate import (
    Rates,
    SimulationConfig,
    run_chunk,
    simulate,
    strip_timing,
)
from scheduler.workflows.simulate.hold import hold
from scheduler.workflows.simulate.play import _starting_plan, _without_rostered
from scheduler.workflows.simulate.restaff import restaff
from scheduler.workflows.simulate.runner import run_one
from scheduler.workflows.simulate.sampling import draw
from tests.helpers import solve_generated
from validator import validate

STRESS = Rates(
    failure_rate=0.2,
    out_of_spec_rate=0.1,
    dropout_rate=0.1,
    suite_down_rate=0.1,
    operator_absence_rate=0.2,
)
VARIANTS = ("policy", "do_nothing", "clairvoyant")


@pytest.fixture(scope="module")
def site() -> tuple[Instance, Schedule]:
    return solve_generated("s", 1, "normal", time_limit=20, workers=1)


def _same(first: dict[str, Any], second: dict[str, Any]) -> bool:
    return json.dumps(strip_timing(first), sort_keys=True) == json.dumps(
        strip_timing(second), sort_keys=True
    )


def _assert_sound(report: dict[str, Any]) -> None:
    """Every final plan valid; clairvoyant never below the policy, doing nothing never above."""
    checks = report["checks"]
    assert checks["invalid_plans"] == [], checks["invalid_plans"][:3]
    assert checks["plans_validated"] == len(report["runs"]) * len(VARIANTS)
    for run in report["runs"]:
        for variant in VARIANTS:
            assert run[variant]["violations"] == [], (run["run"], variant)
        assert run["policy"]["skipped_events"] == [], run["policy"]["skipped_events"]
    assert checks["clairvoyant_below_policy_runs"] == []
    limited = [
        run["run"]
        for run in report["runs"]
        if run["policy"]["time_limited_solves"] or run["do_nothing"]["time_limited_solves"]
    ]
    assert checks["time_limited_runs"] == limited
    assert checks["do_nothing_above_policy_runs"] == []
    for run in report["runs"]:
        if not run["clairvoyant"]["time_limited"]:
            assert run["clairvoyant"]["treated_weight"] >= run["policy"]["treated_weight"]
        assert run["do_nothing"]["treated_weight"] <= run["policy"]["treated_weight"]


@pytest.fixture(scope="module")
def repair_report(site: tuple[Instance, Schedule]) -> dict[str, Any]:
    instance, schedule = site
    return simulate(instance, schedule, SimulationConfig(runs=6, seed=7, rates=STRESS))


def test_repair_runs_are_sound(repair_report: dict[str, Any]) -> None:
    _assert_sound(repair_report)
    sampled = [run["sampled"] for run in repair_report["runs"]]
    # The raised rates make every kind of disruption happen somewhere in these runs.
    for kind in ("failing_first_batches", "dropouts", "suite_closures", "operator_absences"):
        assert sum(s[kind] for s in sampled) > 0, kind
    policy = repair_report["summary"]["policy"]
    assert policy["failed_batches"]["mean"] > 0
    assert policy["rescued_patients"]["mean"] > 0
    assert repair_report["summary"]["do_nothing"]["rescued_patients"]["mean"] == 0
    # A rescue needs a new collection at least `gap_days` after the failure, then manufacturing.
    delays = [d for run in repair_report["runs"] for d in run["policy"]["rescue_delay_days"]]
    assert delays and min(delays) > 2


def test_same_seed_same_report_also_over_processes(
    site: tuple[Instance, Schedule], repair_report: dict[str, Any]
) -> None:
    instance, schedule = site
    config = SimulationConfig(runs=6, seed=7, rates=STRESS)
    again = simulate(instance, schedule, config, processes=2)
    assert _same(repair_report, again)
    assert again["timing"]["processes"] == 2


def test_a_mapper_hook_plays_the_same_runs(
    site: tuple[Instance, Schedule], repair_report: dict[str, Any]
) -> None:
    """A Celery group would map `run_chunk` over chunks: any chunking gives the same report."""
    instance, schedule = site
    calls: list[list[int]] = []

    def one_by_one(context_json: str, runs: Any) -> list[dict[str, Any]]:
        results = []
        for run in reversed(list(runs)):
            calls.append([run])
            results += run_chunk(context_json, [run])
        return sorted(results, key=lambda r: r["run"])

    config = SimulationConfig(runs=6, seed=7, rates=STRESS)
    report = simulate(instance, schedule, config, mapper=one_by_one)
    assert len(calls) == 6
    assert _same(repair_report, report)


def test_replan_policy_is_sound_and_reproducible(site: tuple[Instance, Schedule]) -> None:
    instance, schedule = site
    config = SimulationConfig(runs=2, seed=11, policy="replan", rates=STRESS, time_limit=10)
    report = simulate(instance, schedule, config)
    _assert_sound(report)
    assert report["summary"]["policy"]["failed_batches"]["mean"] > 0
    for run in report["runs"]:
        assert run["policy"]["time_limited_solves"] == 0  # s solves are proven: reproducible
    assert _same(report, simulate(instance, schedule, config))


def test_draws_are_common_random_numbers(site: tuple[Instance, Schedule]) -> None:
    """A higher rate fails a superset of the batches of a lower one on the same run."""
    instance, _ = site
    low = draw(instance, Rates(failure_rate=0.05), seed=3, run=2)
    high = draw(instance, Rates(failure_rate=0.5), seed=3, run=2)
    failing_low = {p for p, d in low.patients.items() if d.fails[0]}
    failing_high = {p for p, d in high.patients.items() if d.fails[0]}
    assert failing_low <= failing_high
    assert len(failing_high) > len(failing_low)
    assert draw(instance, Rates(), seed=3, run=2) == draw(instance, Rates(), seed=3, run=2)
    assert draw(instance, Rates(), seed=3, run=2) != draw(instance, Rates(), seed=3, run=3)


def test_nothing_happens_at_zero_rates(site: tuple[Instance, Schedule]) -> None:
    instance, schedule = site
    zero = Rates(0, 0, 0, 0, 0)
    report = simulate(instance, schedule, SimulationConfig(runs=2, seed=1, rates=zero))
    planned = schedule.objective.scheduled_weight if schedule.objective else None
    for run in report["runs"]:
        assert run["policy"]["event_days"] == 0
        assert run["policy"]["treated_weight"] == planned
        assert run["do_nothing"]["treated_weight"] == planned
        assert run["clairvoyant"]["treated_weight"] == planned


def test_cli_writes_the_report_and_a_self_contained_page(
    site: tuple[Instance, Schedule], tmp_path: Path
) -> None:
    instance, schedule = site
    (tmp_path / "i.json").write_text(to_json(instance), encoding="utf-8")
    (tmp_path / "s.json").write_text(to_json(schedule), encoding="utf-8")
    report, page = tmp_path / "r.json", tmp_path / "r.html"
    args = ["simulate", str(tmp_path / "i.json"), str(tmp_path / "s.json"), "--runs", "2"]
    args += ["--seed", "5", "-o", str(report), "--html", str(page), "--failure-rate", "0.3"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["format"] == "cart-schedule-simulation/1"
    assert data["config"]["rates"]["failure_rate"] == 0.3
    assert len(data["runs"]) == 2 and data["checks"]["invalid_plans"] == []
    text = page.read_text(encoding="utf-8")
    assert "<script src=" not in text and "plotly" in text.lower()
    bad = CliRunner().invoke(app, [*args[:5], "-o", str(report), "--policy", "hope"])
    assert bad.exit_code == 2


def _kept(schedule: Schedule, patients: set[str]) -> dict[str, Any]:
    """What keeping a plan must keep of these patients: start, collection, teams, QC days."""
    return {
        a.patient: (
            a.manufacturing_start,
            a.suite,
            a.apheresis_date,
            sorted((s.step, s.date, s.shift, tuple(s.operators)) for s in a.steps),
            sorted((q.assay, q.start_date) for q in a.qc),
        )
        for a in schedule.assignments
        if a.patient in patients
    }


def _day(instance: Instance, offset: int) -> datetime:
    return datetime.combine(instance.horizon.start + timedelta(days=offset), datetime.min.time())


def test_keeping_the_plan_keeps_it(site: tuple[Instance, Schedule]) -> None:
    """With no event, the greedy re-fill of `hold` gives back the plan in force, team for team.

    Re-filling teams and QC days first-come displaced patients that the plan in force (CP-SAT's)
    had placed: "do nothing" then lost ~9 patients per m run to no event at all.
    """
    instance, schedule = site
    for offset in (0, 3, 8):
        at = _day(instance, offset)
        moved = apply_events(instance, schedule, Events(as_of=at, events=[]), at)
        held = hold(moved, schedule, [], False, 5)
        assert held.displaced == []
        assert validate(moved, held.schedule) == []
        waiting = {p.id for p in moved.patients}
        planned = {a.patient for a in schedule.assignments} & waiting
        assert planned, offset
        assert _kept(held.schedule, planned) == _kept(schedule, planned)


def test_a_quiet_day_is_what_a_full_reaction_would_give(site: tuple[Instance, Schedule]) -> None:
    """An absence that touches no planned team: the fast path (roster only) agrees with
    applying the event and re-filling the plan from scratch."""
    instance, schedule = site
    at = _day(instance, 2)
    working = {
        (operator, step.date)
        for a in schedule.assignments
        for step in a.steps
        for operator in step.operators
    }
    checked = 0
    for operator in instance.operators:
        free = [
            e.date
            for e in operator.roster
            if e.date >= at.date() and (operator.id, e.date) not in working
        ][:2]
        if not free:
            continue
        absence = OperatorAbsent(kind="operator_absent", operator=operator.id, dates=free)
        full = apply_events(instance, schedule, Events(as_of=at, events=[absence]), at)
        fast = _without_rostered(instance, [absence])
        rosters = {o.id: o.roster for o in full.operators}
        assert {o.id: o.roster for o in fast.operators} == rosters
        assert validate(fast, schedule) == []
        held = hold(full, schedule, [], False, 5)
        planned = {a.patient for a in schedule.assignments} & {p.id for p in full.patients}
        assert held.displaced == []
        assert _kept(held.schedule, planned) == _kept(schedule, planned)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_doing_nothing_withdraws_no_date_when_batches_only_fail(
    site: tuple[Instance, Schedule],
) -> None:
    """A failure only frees capacity: nobody else may lose their start or collection date."""
    instance, schedule = site
    config = SimulationConfig(
        runs=4, seed=3, rates=Rates(0.3, 0, 0, 0, 0), references=("do_nothing",)
    )
    report = simulate(instance, schedule, config)
    assert report["checks"]["invalid_plans"] == []
    assert sum(run["sampled"]["failing_first_batches"] for run in report["runs"]) > 0
    for run in report["runs"]:
        for variant in ("policy", "do_nothing"):
            assert run[variant]["dates_withdrawn"] == 0, (run["run"], variant)
        assert run["do_nothing"]["date_changes"] == 0


def test_quiet_days_are_counted_and_change_no_plan(site: tuple[Instance, Schedule]) -> None:
    """Absences only: some touch no planned team (no reaction), every final plan stays valid."""
    instance, schedule = site
    config = SimulationConfig(
        runs=3, seed=5, rates=Rates(0, 0, 0, 0, 0.3), references=("do_nothing",)
    )
    report = simulate(instance, schedule, config)
    assert report["checks"]["invalid_plans"] == []
    runs = report["runs"]
    assert sum(run["policy"]["quiet_days"] for run in runs) > 0
    for run in runs:
        assert run["policy"]["quiet_days"] <= run["policy"]["event_days"]
        assert run["policy"]["quiet_days"] == run["do_nothing"]["quiet_days"]


def test_a_reloaded_instance_is_the_instance_a_full_load_gives(
    site: tuple[Instance, Schedule],
) -> None:
    """Re-planning keeps the unchanged items of the instance as they are (no re-validation):
    the result is the very instance that loading the whole new document gives."""
    instance, schedule = site
    absence = OperatorAbsent(
        kind="operator_absent",
        operator=instance.operators[0].id,
        dates=[instance.horizon.start + timedelta(days=3)],
    )
    at = _day(instance, 2)
    moved = apply_events(instance, schedule, Events(as_of=at, events=[absence]), at)
    document = json.loads(to_json(moved))
    assert moved == load_instance(document)
    assert json.loads(to_json(moved)) == json.loads(to_json(load_instance(document)))
    unchanged = [o for o in moved.operators[1:] if o in instance.operators]
    assert unchanged and all(any(o is p for p in instance.operators) for o in unchanged)


def test_keeping_the_last_days_batches_gives_the_plan_a_fresh_hold_gives(
    site: tuple[Instance, Schedule],
) -> None:
    """`hold(last=…)` keeps yesterday's batches as they stand where all they use is free: on
    the next day it gives the plan that placing everyone again from their start gives."""
    instance, schedule = site
    first_day = _day(instance, 2)
    moved = apply_events(instance, schedule, Events(as_of=first_day, events=[]), first_day)
    yesterday = hold(moved, schedule, [], False, 5, explain=False)
    for offset in (3, 6):
        at = _day(instance, offset)
        today = apply_events(moved, yesterday.schedule, Events(as_of=at, events=[]), at)
        fresh = hold(today, yesterday.schedule, [], False, 5, explain=False)
        kept = hold(today, yesterday.schedule, [], False, 5, explain=False, last=yesterday)
        assert kept.displaced == fresh.displaced == []
        assert kept.schedule.assignments == fresh.schedule.assignments, offset
        assert validate(today, kept.schedule) == []


def test_an_absence_is_met_by_swapping_a_team_member(site: tuple[Instance, Schedule]) -> None:
    """An operator of a planned step falls ill: another qualified operator of the same shift
    takes the step; every start, seat and lab day stays, the other team members too."""
    instance, schedule = site
    at = _day(instance, 2)
    moved = apply_events(instance, schedule, Events(as_of=at, events=[]), at)
    held = hold(moved, schedule, [], False, 5, explain=False)
    assert held.problem is not None and held.batches is not None
    planned = held.schedule
    step, assignment = next(
        (s, a) for a in planned.assignments for s in a.steps if s.date > at.date()
    )
    absent = step.operators[0]
    absence = OperatorAbsent(kind="operator_absent", operator=absent, dates=[step.date])
    without = _without_rostered(moved, [absence])
    done = restaff(without, planned, held.problem, held.batches, {(absent, step.date)})
    assert done is not None
    after = {a.patient: a for a in done.schedule.assignments}[assignment.patient]
    new_step = next(s for s in after.steps if s.step == step.step)
    assert absent not in new_step.operators
    assert set(step.operators) - {absent} <= set(new_step.operators)
    assert len(new_step.operators) == len(step.operators)
    assert (after.manufacturing_start, after.suite, after.position, after.qc) == (
        assignment.manufacturing_start,
        assignment.suite,
        assignment.position,
        assignment.qc,
    )
    assert validate(without, done.schedule) == []


def test_an_absence_nobody_can_cover_goes_to_the_full_reaction(
    site: tuple[Instance, Schedule],
) -> None:
    """When every qualified operator of the shift is away, no swap exists: `restaff` says so."""
    instance, schedule = site
    at = _day(instance, 2)
    moved = apply_events(instance, schedule, Events(as_of=at, events=[]), at)
    held = hold(moved, schedule, [], False, 5, explain=False)
    assert held.problem is not None and held.batches is not None
    step = next(s for a in held.schedule.assignments for s in a.steps if s.date > at.date())
    everyone = [
        OperatorAbsent(kind="operator_absent", operator=o.id, dates=[step.date])
        for o in moved.operators
    ]
    away = {(o.id, step.date) for o in moved.operators}
    without = _without_rostered(moved, everyone)
    assert restaff(without, held.schedule, held.problem, held.batches, away) is None


def test_absences_met_by_swaps_are_counted_and_every_plan_stays_valid(
    site: tuple[Instance, Schedule],
) -> None:
    """Absences only, at a high rate: many are met by swapping team members, none breaks a rule."""
    instance, schedule = site
    config = SimulationConfig(
        runs=3, seed=5, rates=Rates(0, 0, 0, 0, 0.3), references=("do_nothing",)
    )
    report = simulate(instance, schedule, config)
    assert report["checks"]["invalid_plans"] == []
    assert sum(run["policy"]["restaffed_days"] for run in report["runs"]) > 0


def test_a_run_does_not_depend_on_the_runs_played_before_it(
    site: tuple[Instance, Schedule],
) -> None:
    """Runs share per-process caches (the published plan in the planner's terms, rosters,
    item forms): played in reverse order, every run reports exactly the same."""
    instance, schedule = site
    config = SimulationConfig(runs=6, seed=7, rates=STRESS, references=("do_nothing",))
    forward = {r: run_one(instance, schedule, config, r) for r in range(6)}
    backward = {r: run_one(instance, schedule, config, r) for r in reversed(range(6))}
    for results in (forward, backward):
        for result in results.values():
            result.pop("timing")
    assert forward == backward
    assert any(r["policy"]["event_days"] for r in forward.values())


def test_the_starting_plan_keeps_the_published_seats_in_their_own_classes() -> None:
    """Runs start from the published plan in the planner's terms: every batch on its published
    seat and counted in that seat's class (seats are coloured class by class, C5; a batch
    counted in another class of the same type once shared a seat with a running batch).

    The m overload site: its first-come planner counts 14 of 77 batches in another class of
    the same suite type than the seat the CP-SAT plan gave them.
    """
    instance, schedule = solve_generated("m", 1, "overload", time_limit=30, workers=1)
    held = _starting_plan(instance, schedule)
    assert held is not None and held.problem is not None and held.batches is not None
    seats = {a.patient: (a.suite, a.position) for a in schedule.assignments}
    classes = held.problem.builder.classes
    for batch in held.batches:
        assert (batch.suite, batch.position) == seats[batch.patient_id]
        assert batch.class_index == class_of_position(classes, batch.suite, batch.position)
