"""Coordinators' plans: submit (as is, as a what-if scenario, or as a re-plan), watch, read, cancel."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from sqlalchemy import select

from api.db import Plan, utc_now
from api.dispatch import Dispatch, WakeEmbedded, priority_of
from api.errors import Conflict, NotFound, Unprocessable
from api.schemas import ComparisonOut, DiffOut, PlanOut, SuggestionsOut
from api.services.audit import record
from api.services.limits import InstanceLimits, check_instance
from api.store import Store, header_of
from models import Instance, Problem, Schedule, load_instance, load_schedule, to_json
from models.events import load_events
from models.scenarios import Scenario, ScenarioError, apply_scenario, parse_scenario
from scheduler.reporting.kpis import compare_plans
from scheduler.workflows.replan import apply_events, resolve_as_of
from scheduler.workflows.suggest import out_of_reach, suggest_changes

log = logging.getLogger("cart_scheduler.api")
FINISHED = ("done", "failed", "cancelled")


class PlanService:
    """Plans and their solve jobs (solved by `api.solving`: the embedded worker or Celery workers)."""

    def __init__(
        self, store: Store, limits: InstanceLimits | None = None, dispatch: Dispatch | None = None
    ) -> None:
        self.store = store
        self.limits = limits or InstanceLimits()
        self.dispatch = dispatch or WakeEmbedded()

    def _queue(self, actor: str, instance: Instance, plan: Plan, after: dict[str, Any]) -> PlanOut:
        """Store a new plan as queued (when the service plans a site that large), audit it, wake the worker."""
        check_instance(instance, self.limits)
        with self.store.transaction() as session:
            session.add(plan)
            record(session, actor, "plan.submitted", "plan", plan.id, None, after)
        # The answer is the plan as accepted (queued), read before a worker can take it: read
        # after, it was now and then already "solving" (a worker on PostgreSQL claimed it first).
        accepted = self.status(plan.id)
        try:
            self.dispatch(plan.id, priority_of(plan.scenario), plan.time_limit)
        except Exception:  # the broker is down: the plan stays queued and is sent again later
            log.exception("plan %s is stored but could not be sent to the solvers yet", plan.id)
        return accepted

    def submit(self, actor: str, document: dict[str, Any], time_limit: float) -> PlanOut:
        """Check an instance and queue its solve."""
        instance = load_instance(document)  # InstanceError: every problem, with its path
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=json.dumps(document),
            created_by=actor,
            created_at=utc_now(),
        )
        summary = {
            "name": instance.name,
            "patients": len(instance.patients),
            "time_limit": time_limit,
        }
        return self._queue(actor, instance, plan, summary)

    def submit_scenario(self, actor: str, plan_id: str, data: Any, time_limit: float) -> PlanOut:
        """A what-if: the plan's instance with changed inputs, queued as a plan of its own."""
        scenario = parse_scenario(data)  # ScenarioError: every problem, with its path
        parent_document = self._parent_document(plan_id)
        return self._queue(
            actor, *self._scenario_plan(actor, plan_id, parent_document, scenario, time_limit)
        )

    def submit_scenarios(
        self, actor: str, plan_id: str, data: list[Any], time_limit: float
    ) -> list[PlanOut]:
        """Several what-ifs at once: each queued as a plan of its own, all checked before any is queued.

        The Celery workers take them at once (one per worker process); the embedded worker one
        after another. A problem of any scenario is reported with its index (`[1].changes[0].suite`).
        """
        problems: list[Problem] = []
        scenarios: list[Scenario] = []
        for index, item in enumerate(data):
            try:
                scenarios.append(parse_scenario(item))
            except ScenarioError as error:
                problems += [_indexed(index, problem) for problem in error.problems]
        if problems:
            raise ScenarioError(problems)
        parent_document = self._parent_document(plan_id)
        prepared = []
        for index, scenario in enumerate(scenarios):
            try:
                instance, plan, summary = self._scenario_plan(
                    actor, plan_id, parent_document, scenario, time_limit
                )
                check_instance(instance, self.limits)
            except ScenarioError as error:
                problems += [_indexed(index, problem) for problem in error.problems]
                continue
            prepared.append((instance, plan, summary))
        if problems:
            raise ScenarioError(problems)
        return [self._queue(actor, instance, plan, summary) for instance, plan, summary in prepared]

    def _parent_document(self, plan_id: str) -> dict[str, Any]:
        with self.store.sessions() as session:
            parent = session.get(Plan, plan_id)
            if parent is None:
                raise NotFound(f"no plan {plan_id!r}")
            document: dict[str, Any] = json.loads(parent.instance_json)
            return document

    def _scenario_plan(
        self,
        actor: str,
        plan_id: str,
        parent_document: dict[str, Any],
        scenario: Scenario,
        time_limit: float,
    ) -> tuple[Instance, Plan, dict[str, Any]]:
        """The scenario's plan row (not stored yet) and what its audit entry says."""
        document = apply_scenario(parent_document, scenario)
        instance = load_instance(document)
        changes = json.loads(scenario.model_dump_json(exclude_unset=True))
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=json.dumps(document),
            created_by=actor,
            created_at=utc_now(),
            parent_id=plan_id,
            scenario=changes,
        )
        summary = {
            "name": instance.name,
            "patients": len(instance.patients),
            "time_limit": time_limit,
            "scenario_of": plan_id,
            "changes": changes["changes"],
        }
        return instance, plan, summary

    def submit_replan(self, actor: str, plan_id: str, data: Any, time_limit: float) -> PlanOut:
        """Re-plan a solved plan after events: started work fixed, the previous schedule as warm start."""
        parent_instance, parent_schedule = self.documents(plan_id)
        if not isinstance(data, list | dict):
            raise Unprocessable(
                "the events must be a JSON list, or an object with `events`",
                [Problem("body", f"got {type(data).__name__}")],
            )
        events = load_events(data, parent_instance)  # EventsError: every problem, with its path
        as_of = resolve_as_of(parent_instance, events)
        instance = apply_events(
            parent_instance, parent_schedule, events, as_of
        )  # ReplanError: what does not fit
        replan_of = {
            "events": json.loads(events.model_dump_json(exclude_unset=True, by_alias=True)),
            "as_of": as_of.isoformat(),
        }
        plan = Plan(
            id=uuid.uuid4().hex,
            name=instance.name,
            status="queued",
            time_limit=time_limit,
            instance_json=to_json(instance),
            created_by=actor,
            created_at=utc_now(),
            parent_id=plan_id,
            scenario={"replan": replan_of},
        )
        summary = {
            "name": instance.name,
            "patients": len(instance.patients),
            "time_limit": time_limit,
            "replan_of": plan_id,
            "events": len(events.events),
            "as_of": replan_of["as_of"],
        }
        return self._queue(actor, instance, plan, summary)

    def diff(self, plan_id: str) -> DiffOut:
        """What a re-plan changed against the plan it re-planned, and which event caused it."""
        schedule = self._schedule_json(plan_id)
        if "diff" not in schedule:
            raise NotFound(f"plan {plan_id} is not a re-plan (it has no diff)")
        return DiffOut.model_validate(schedule["diff"])

    def suggestions(self, plan_id: str, patient_id: str, time_limit: float) -> SuggestionsOut:
        """The smallest verified changes that would let an unscheduled patient of the plan be scheduled."""
        instance, schedule = self.documents(plan_id)
        if patient_id not in {entry.patient for entry in schedule.unscheduled}:
            raise NotFound(f"{patient_id!r} is not an unscheduled patient of plan {plan_id}")
        found = suggest_changes(instance, schedule, patient_id, time_limit=time_limit)
        # No suggestion: say why when the patient's own data puts it out of reach (else the time ran out).
        reason = None if found else out_of_reach(instance, schedule, patient_id)
        return SuggestionsOut.model_validate(
            {
                "plan_id": plan_id,
                "patient": patient_id,
                "suggestions": [s.to_dict() for s in found],
                "out_of_reach": reason,
            }
        )

    def compare(self, plan_ids: list[str]) -> ComparisonOut:
        """KPIs and objective of solved plans side by side (a plan and its what-if scenarios)."""
        comparison = compare_plans([self.documents(plan_id) for plan_id in plan_ids])
        for plan_id, column in zip(plan_ids, comparison["plans"], strict=True):
            column["id"] = plan_id
        return ComparisonOut.model_validate(comparison)

    def status(self, plan_id: str) -> PlanOut:
        """Status, best objective and bound so far, elapsed time."""
        with self.store.sessions() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            return _plan_summary(plan)

    def recent(self, limit: int) -> list[PlanOut]:
        """The most recent plans first."""
        with self.store.sessions() as session:
            plans = session.scalars(
                select(Plan).order_by(Plan.created_at.desc()).limit(limit)
            ).all()
            return [_plan_summary(plan) for plan in plans]

    def _solved(self, plan_id: str) -> tuple[str, str]:
        """The instance and schedule JSON of a plan that has a schedule (404 unknown, 409 not yet)."""
        with self.store.sessions() as session:
            plan = session.get(Plan, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.schedule_json is None:
                raise Conflict(
                    f"plan {plan_id} has no schedule yet (status {plan.status})",
                    extra={"status": plan.status},
                )
            return plan.instance_json, plan.schedule_json

    def _schedule_json(self, plan_id: str) -> dict[str, Any]:
        schedule: dict[str, Any] = json.loads(self._solved(plan_id)[1])
        return schedule

    def schedule(self, plan_id: str) -> Schedule:
        """The plan's schedule document (extras such as a re-plan's `diff` included)."""
        return Schedule.model_validate(self._schedule_json(plan_id))

    def documents(self, plan_id: str) -> tuple[Instance, Schedule]:
        """The plan's instance and schedule as models (for KPIs, pictures and workbooks)."""
        instance_json, schedule_json = self._solved(plan_id)
        return load_instance(json.loads(instance_json)), load_schedule(json.loads(schedule_json))

    def cancel(self, actor: str, plan_id: str) -> PlanOut:
        """Stop a queued or running solve; a running one keeps its best schedule so far."""
        with self.store.transaction() as session:
            plan = session.get(Plan, plan_id, with_for_update=True)
            if plan is None:
                raise NotFound(f"no plan {plan_id!r}")
            if plan.status in FINISHED or plan.status == "cancelling":
                raise Conflict(
                    f"plan {plan_id} is already {plan.status}", extra={"status": plan.status}
                )
            before = plan.status
            plan.status = "cancelled" if plan.status == "queued" else "cancelling"
            if plan.status == "cancelled":
                plan.finished_at = utc_now()
            record(
                session,
                actor,
                "plan.cancelled",
                "plan",
                plan_id,
                {"status": before},
                {"status": plan.status},
            )
        return self.status(plan_id)


def _plan_summary(plan: Plan) -> PlanOut:
    now = utc_now()
    elapsed = None
    if plan.started_at is not None:
        elapsed = round(((plan.finished_at or now) - plan.started_at).total_seconds(), 3)
    result = None
    if plan.schedule_json is not None:
        result = header_of(json.loads(plan.schedule_json))
    return PlanOut(
        id=plan.id,
        name=plan.name,
        status=plan.status,
        time_limit=plan.time_limit,
        created_by=plan.created_by,
        created_at=plan.created_at.isoformat(),
        started_at=None if plan.started_at is None else plan.started_at.isoformat(),
        finished_at=None if plan.finished_at is None else plan.finished_at.isoformat(),
        elapsed_seconds=elapsed,
        progress=plan.progress,
        result=result,
        error=plan.error,
        parent_id=plan.parent_id,
        scenario=plan.scenario,
    )


def _indexed(index: int, problem: Problem) -> Problem:
    """A problem of the `index`-th scenario of a list, its path prefixed with `[index]`."""
    path = f"[{index}]" + (
        "" if not problem.path else ("" if problem.path.startswith("[") else ".") + problem.path
    )
    return Problem(path, problem.message)
