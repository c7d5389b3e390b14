"""Events applied to a plan's instance: the new instance a re-plan solves.

One module over 500 lines on purpose: one function per event kind, each short, read in the
order of the events format (docs/FORMATS.md); splitting them would scatter one rule set.

`apply_events` turns (instance, previous schedule, events, as_of) into the new instance: work
started before `as_of` is fixed as in-progress batches, collections already done keep their
date, every date the previous plan communicated becomes `previous.apheresis_date`, and then the
events change patients and resources. The readings are in docs/READINGS.md, "Re-planning".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from models import InputError, Instance, Schedule, load_instance
from models.checks import Problem, check_instance
from models.events import (
    BatchFailed,
    Events,
    OperatorAbsent,
    PatientAdded,
    PatientCancelled,
    PatientDelayed,
    QcCapacityChanged,
    QcRetest,
    SuiteDown,
    check_events,
)
from models.timeutil import add_hours, hours_between, local_instant

Document = dict[str, Any]
REPLAN_MARK = "-replan-"


class ReplanError(InputError):
    """Events that cannot be applied to this plan (each problem with the event's path)."""


def resolve_as_of(instance: Instance, events: Events, as_of: datetime | None = None) -> datetime:
    """The re-planning moment (naive local): the argument, else the events' `as_of`, else horizon start 00:00."""
    if as_of is not None:
        return (
            as_of.replace(tzinfo=None)
            if as_of.tzinfo is None
            else as_of.astimezone(ZoneInfo(instance.site.timezone)).replace(tzinfo=None)
        )
    return events.as_of or datetime.combine(instance.horizon.start, time())


def _local_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S" if moment.second else "%Y-%m-%dT%H:%M")


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@dataclass
class _Draft:
    """The new instance document while it is being built, and what went wrong so far."""

    doc: Document
    instance: Instance
    previous: Schedule
    as_of: datetime  # naive local
    zone: ZoneInfo
    horizon_start: date  # of the new instance
    problems: list[Problem]

    @property
    def as_of_instant(self) -> datetime:
        """`as_of` as an aware instant."""
        return local_instant(self.as_of, self.zone)

    @property
    def horizon_instant(self) -> datetime:
        """The new horizon start, 00:00 local, as an aware instant."""
        return local_instant(datetime.combine(self.horizon_start, time()), self.zone)

    def patient(self, patient_id: str) -> Document | None:
        """The new patient with this id, if it is one."""
        return next((p for p in self.doc["patients"] if p["id"] == patient_id), None)

    def batch(self, patient_id: str) -> Document | None:
        """The in-progress batch of this patient, if it is one."""
        return next((b for b in self.doc["in_progress"] if b["patient"] == patient_id), None)

    def product(self, product_id: str) -> Document:
        """A product of the new instance."""
        return next(p for p in self.doc["products"] if p["id"] == product_id)

    def fresh_id(self, wanted: str, taken: set[str]) -> str:
        """`wanted`, or `wanted-2`, `-3` … when taken."""
        candidate, number = wanted, 1
        while candidate in taken:
            number += 1
            candidate = f"{wanted}-{number}"
        return candidate


def apply_events(
    instance: Instance, previous: Schedule, events: Events, as_of: datetime | None = None
) -> Instance:
    """The instance to re-plan: started work fixed at `as_of`, communicated dates kept, the events applied.

    Raises ReplanError (every problem, with the event's path) when the events do not fit the
    plan, e.g. a batch that has not started cannot fail.
    """
    moment = resolve_as_of(instance, events, as_of)
    problems = check_events(events, instance)
    if previous.instance != instance.name:
        problems.append(
            Problem(
                "previous.instance",
                f"the schedule is for instance {previous.instance!r}, not {instance.name!r}",
            )
        )
    zone = ZoneInfo(instance.site.timezone)
    horizon_end = instance.horizon.start + timedelta(days=instance.horizon.days)
    start = max(instance.horizon.start, moment.date())
    if start >= horizon_end:
        problems.append(
            Problem(
                "as_of",
                f"{_local_text(moment)} is after the horizon end {horizon_end}: nothing is left to plan",
            )
        )
    if problems:
        raise ReplanError(problems)
    doc: Document = instance.model_dump(mode="json", exclude_unset=True)
    doc.setdefault("patients", [])
    doc.setdefault("in_progress", [])
    draft = _Draft(doc, instance, previous, moment, zone, start, [])
    _fix_started_work(draft)
    for index, event in enumerate(events.events):
        _apply_event(draft, f"events[{index}]", event)
    _drop_released_batches(draft)
    base = instance.name.split(REPLAN_MARK)[0]
    doc["name"] = f"{base}{REPLAN_MARK}{moment:%Y%m%dT%H%M}"
    doc["horizon"] = {"start": start.isoformat(), "days": (horizon_end - start).days}
    if draft.problems:
        raise ReplanError(draft.problems)
    reloaded = _reload_unchanged(doc, instance)
    if reloaded is not None:
        return reloaded
    try:
        return load_instance(doc)
    except InputError as error:  # events that together make an impossible instance
        raise ReplanError(
            [Problem("", f"the re-planned instance is not valid: {p}") for p in error.problems]
        ) from error


# Lists of the instance whose items are matched by this field between the old and new document.
_ITEM_KEYS = {
    "products": "id",
    "suites": "id",
    "operators": "id",
    "hospitals": "id",
    "patients": "id",
    "in_progress": "patient",
}
_PARTS = ("site", "horizon", "qc_lab", "objective")


# The JSON form of items of earlier instances, by identity: a simulated run applies each day's
# events to the instance of its last day, whose items are mostly the very same objects, and
# dumping every item again each day was a tenth of a simulated run. The model is kept with its
# form (an id is only unique while its object lives); the cache is emptied when full.
_DUMPED: dict[int, tuple[BaseModel, Document]] = {}
_DUMPED_MAX = 20_000


def _dumped(model: BaseModel) -> Document:
    """`model` in the exchange format's JSON form (never to be edited: it is shared)."""
    entry = _DUMPED.get(id(model))
    if entry is None or entry[0] is not model:
        if len(_DUMPED) >= _DUMPED_MAX:
            _DUMPED.clear()
        entry = (model, model.model_dump(mode="json", exclude_unset=True))
        _DUMPED[id(model)] = entry
    return entry[1]


def _reload_unchanged(doc: Document, instance: Instance) -> Instance | None:
    """The new instance, taking every item the events left unchanged from `instance` as it is.

    Re-validating a whole instance on every simulated day was most of a re-plan's set-up;
    pydantic accepts a model instance as it is, so only the changed items are validated (and
    the document is checked as a whole, as `load_instance` does). None when anything is wrong:
    `load_instance` then names every problem.
    """
    merged = dict(doc)
    for key, id_field in _ITEM_KEYS.items():
        before = {getattr(model, id_field): model for model in getattr(instance, key)}
        items = []
        for item in doc.get(key, []):
            model = before.get(item.get(id_field))
            items.append(model if model is not None and _dumped(model) == item else item)
        merged[key] = items
    for part in _PARTS:
        if part in doc and part in instance.model_fields_set:
            model = getattr(instance, part)
            if doc[part] == _dumped(model):
                merged[part] = model
    try:
        reloaded = Instance.model_validate(merged)
    except ValidationError:
        return None
    return None if check_instance(doc) else reloaded


# ----- work already started ----------------------------------------------------------------


def _fix_started_work(draft: _Draft) -> None:
    """Batches started before `as_of` become in progress; done collections keep their date (collected_on).

    Every date the previous plan gave a scheduled patient becomes its `previous.apheresis_date`.
    """
    started_before = _utc(draft.as_of_instant)
    for assignment in draft.previous.assignments:
        if assignment.in_progress:
            continue
        patient = draft.patient(assignment.patient)
        if patient is None:
            draft.problems.append(
                Problem(
                    "previous.assignments",
                    f"{assignment.patient!r} is not a patient of the instance",
                )
            )
            continue
        if _utc(assignment.manufacturing_start) < started_before:
            _start_batch(
                draft,
                patient,
                assignment.suite,
                assignment.position,
                assignment.manufacturing_start,
            )
            continue
        collected = assignment.apheresis_date
        if collected is None:
            continue
        patient["previous"] = {"apheresis_date": collected.isoformat()}
        if patient.get("collected_on") is not None:
            continue
        hospital = draft.instance.hospital_by_id[patient["hospital"]]
        if collected < draft.as_of.date() or (
            collected == draft.as_of.date() and draft.as_of.time() >= hospital.collection_end_time
        ):
            patient["collected_on"] = collected.isoformat()
        elif collected == draft.as_of.date():
            patient["locked"] = True  # the collection is under way today: it can no longer move


def _start_batch(
    draft: _Draft, patient: Document, suite: str, position: int, start: datetime
) -> None:
    """A patient whose manufacturing started: an in-progress batch at the same suite position and start."""
    local = start.astimezone(draft.zone).replace(tzinfo=None)
    if _utc(local_instant(local, draft.zone)) != _utc(start):
        draft.problems.append(
            Problem(
                "previous.assignments",
                f"{patient['id']}: start {start.isoformat()} is the second occurrence of a repeated local time, which the instance format cannot state",
            )
        )
    batch = {
        "patient": patient["id"],
        "product": patient["product"],
        "hospital": patient["hospital"],
        "suite": suite,
        "position": position,
        "manufacturing_start": _local_text(local),
        "infusion_window": patient["infusion_window"],
    }
    draft.doc["patients"].remove(patient)
    draft.doc["in_progress"].append(batch)


def _drop_released_batches(draft: _Draft) -> None:
    """In-progress batches released before the new horizon are done: nothing of them is left to plan."""
    previous = {a.patient: a for a in draft.previous.assignments}
    products = {p["id"]: p for p in draft.doc["products"]}
    kept = []
    for batch in draft.doc["in_progress"]:
        product = products[batch["product"]]
        start = local_instant(datetime.fromisoformat(batch["manufacturing_start"]), draft.zone)
        end = add_hours(start, product["manufacturing_hours"], draft.zone).date()
        planned = previous.get(batch["patient"])
        planned_ends = {q.assay: q.end_date for q in planned.qc} if planned else {}
        ends = [end]
        for assay in product.get("qc_assays", []):
            sampled = start.date() + timedelta(days=assay["sample_day_offset"])
            if sampled < draft.horizon_start:  # SPEC C11: started on its sample date
                ends.append(sampled + timedelta(days=assay["duration_days"]))
            else:
                ends.append(
                    planned_ends.get(assay["id"], sampled + timedelta(days=assay["duration_days"]))
                )
        release = max(ends) + timedelta(days=product.get("qp_release_days", 0))
        if release >= draft.horizon_start:
            kept.append(batch)
    draft.doc["in_progress"] = kept


# ----- the events ---------------------------------------------------------------------------


def _apply_event(draft: _Draft, path: str, event: Any) -> None:
    handlers: dict[type, Callable[[_Draft, str, Any], None]] = {
        PatientAdded: _patient_added,
        PatientCancelled: _patient_cancelled,
        PatientDelayed: _patient_delayed,
        BatchFailed: _batch_failed,
        SuiteDown: _suite_down,
        OperatorAbsent: _operator_absent,
        QcCapacityChanged: _qc_capacity_changed,
        QcRetest: _qc_retest,
    }
    handlers[type(event)](draft, path, event)


def _patient_added(draft: _Draft, path: str, event: PatientAdded) -> None:
    draft.doc["patients"].append(event.patient.model_dump(mode="json", exclude_unset=True))


def _patient_cancelled(draft: _Draft, path: str, event: PatientCancelled) -> None:
    patient = draft.patient(event.patient)
    if patient is not None:
        draft.doc["patients"].remove(patient)
        return
    batch = draft.batch(event.patient)
    if batch is None:
        return  # released before the horizon: nothing left to cancel
    free_from = event.suite_free_from or _planned_occupancy_end(draft, batch)
    _occupy_position(draft, path, batch, free_from, "cancelled")


def _patient_delayed(draft: _Draft, path: str, event: PatientDelayed) -> None:
    patient = draft.patient(event.patient)
    if patient is None:
        draft.problems.append(
            Problem(
                f"{path}.patient",
                f"{event.patient!r} is already in manufacturing at {_local_text(draft.as_of)}: its collection cannot be delayed (a failed batch is batch_failed)",
            )
        )
        return
    if patient.get("collected_on") is not None:
        draft.problems.append(
            Problem(
                f"{path}.patient",
                f"{event.patient!r} was already collected on {patient['collected_on']}: its collection cannot be delayed",
            )
        )
        return
    window = event.apheresis_window
    patient["apheresis_window"] = window.model_dump(mode="json")
    if event.infusion_window is not None:
        patient["infusion_window"] = event.infusion_window.model_dump(
            mode="json", exclude_unset=True
        )
    communicated = (patient.get("previous") or {}).get("apheresis_date")
    if (
        communicated is not None
        and not window.earliest <= date.fromisoformat(communicated) <= window.latest
    ):
        # The hospital asked for the move: the old date no longer binds anyone.
        patient.pop("previous", None)
        patient["locked"] = False


def _batch_failed(draft: _Draft, path: str, event: BatchFailed) -> None:
    batch = draft.batch(event.patient)
    if batch is None:
        when = (
            "" if draft.patient(event.patient) is None else " (its manufacturing has not started)"
        )
        draft.problems.append(
            Problem(
                f"{path}.patient",
                f"{event.patient!r} has no batch in manufacturing at {_local_text(draft.as_of)}{when}: only a started batch can fail",
            )
        )
        return
    original = next((p for p in draft.instance.patients if p.id == event.patient), None)
    _occupy_position(draft, path, batch, event.suite_free_from, "failed")
    base_weight = original.weight if original is not None else 1
    patient: Document = {
        "id": event.patient,
        "hospital": batch["hospital"],
        "product": _base_product(batch["product"]),
        "weight": event.weight if event.weight is not None else base_weight * event.weight_factor,
        "material": event.material or (original.material if original is not None else "fresh"),
        "apheresis_window": event.apheresis_window.model_dump(mode="json"),
        "infusion_window": _infusion_after_failure(event, batch),
    }
    draft.doc["patients"].append(patient)


def _infusion_after_failure(event: BatchFailed, batch: Document) -> Document:
    """The event's window; else the old one without its end (it was set for the failed batch)."""
    if event.infusion_window is not None:
        return event.infusion_window.model_dump(mode="json", exclude_unset=True)
    old = batch.get("infusion_window")
    if old is not None:
        return {"earliest": old["earliest"]}
    return {"earliest": event.apheresis_window.earliest.isoformat()}


def _base_product(product_id: str) -> str:
    return product_id.split("~")[0]


def _suite_down(draft: _Draft, path: str, event: SuiteDown) -> None:
    suite = next(s for s in draft.doc["suites"] if s["id"] == event.suite)
    period: Document = {"start": _local_text(event.start), "end": _local_text(event.end)}
    if event.reason is not None:
        period["reason"] = event.reason
    suite.setdefault("unavailable", []).append(period)
    down_start, down_end = (
        local_instant(event.start, draft.zone),
        local_instant(event.end, draft.zone),
    )
    for batch in draft.doc["in_progress"]:
        if batch["suite"] != event.suite:
            continue
        start = local_instant(datetime.fromisoformat(batch["manufacturing_start"]), draft.zone)
        until = _occupancy_end(draft, batch)
        if _utc(start) < _utc(down_end) and _utc(down_start) < _utc(until):
            draft.problems.append(
                Problem(
                    path,
                    (
                        f"suite {event.suite} goes down {_local_text(event.start)}..{_local_text(event.end)} while in-progress "
                        f"{batch['patient']} occupies position {batch['position']} until {until:%Y-%m-%dT%H:%M}: record what happens "
                        f"to that batch first (batch_failed or patient_cancelled with suite_free_from) or shorten the period"
                    ),
                )
            )


def _operator_absent(draft: _Draft, path: str, event: OperatorAbsent) -> None:
    operator = next(o for o in draft.doc["operators"] if o["id"] == event.operator)
    absent = {day.isoformat() for day in event.dates}
    operator["roster"] = [
        entry for entry in operator.get("roster", []) if entry["date"] not in absent
    ]


def _qc_capacity_changed(draft: _Draft, path: str, event: QcCapacityChanged) -> None:
    by_date = draft.doc["qc_lab"].setdefault("capacity_by_date", {})
    for day in event.dates:
        by_date.setdefault(day.isoformat(), {})[event.assay] = event.capacity


def _qc_retest(draft: _Draft, path: str, event: QcRetest) -> None:
    batch = draft.batch(event.patient)
    if batch is None:
        draft.problems.append(
            Problem(
                f"{path}.patient",
                f"{event.patient!r} has no batch in manufacturing at {_local_text(draft.as_of)}: nothing has been sampled to retest",
            )
        )
        return
    started = datetime.fromisoformat(batch["manufacturing_start"]).date()
    product = copy.deepcopy(draft.product(batch["product"]))
    assay = next((a for a in product.get("qc_assays", []) if a["id"] == event.assay), None)
    if assay is None:
        draft.problems.append(
            Problem(f"{path}.assay", f"the batch of {event.patient!r} has no assay {event.assay!r}")
        )
        return
    sampled = started + timedelta(days=assay["sample_day_offset"])
    if event.from_date < sampled:
        draft.problems.append(
            Problem(
                f"{path}.from", f"{event.from_date} is before the assay's sample date {sampled}"
            )
        )
        return
    # The batch gets a product of its own whose assay is sampled on the retest date (SPEC-compatible).
    assay["sample_day_offset"] = (event.from_date - started).days
    if "~retest-" not in product["id"]:
        product["id"] = draft.fresh_id(
            f"{product['id']}~retest-{event.patient}", {p["id"] for p in draft.doc["products"]}
        )
        draft.doc["products"].append(product)
    else:
        draft.doc["products"] = [
            product if p["id"] == product["id"] else p for p in draft.doc["products"]
        ]
    batch["product"] = product["id"]


# ----- a position kept occupied ---------------------------------------------------------------


def _occupancy_end(draft: _Draft, batch: Document) -> datetime:
    """When an in-progress batch frees its position (manufacturing end + changeover), aware."""
    product = draft.product(batch["product"])
    start = local_instant(datetime.fromisoformat(batch["manufacturing_start"]), draft.zone)
    return add_hours(
        start, product["manufacturing_hours"] + product.get("changeover_hours", 0), draft.zone
    )


def _planned_occupancy_end(draft: _Draft, batch: Document) -> datetime:
    return _occupancy_end(draft, batch).replace(tzinfo=None)


def _occupy_position(
    draft: _Draft, path: str, batch: Document, free_from: datetime, why: str
) -> None:
    """Replace a stopped batch by an occupancy of its position until `free_from`: no steps, no QC.

    The occupancy is an in-progress batch of a product of its own whose manufacturing runs to
    the new horizon start (or from its start, if later) and whose changeover runs to `free_from`,
    so that it blocks exactly that position and needs no release day outside the horizon.
    """
    draft.doc["in_progress"].remove(batch)
    zone = draft.zone
    start = local_instant(datetime.fromisoformat(batch["manufacturing_start"]), zone)
    free = local_instant(free_from, zone)
    horizon = draft.horizon_instant
    if _utc(free) <= max(_utc(start), _utc(horizon)):
        return  # the position is free again before the re-planned horizon: nothing to block
    if _utc(start) < _utc(horizon):
        manufacturing, changeover = hours_between(start, horizon), hours_between(horizon, free)
    else:
        manufacturing, changeover = hours_between(start, free), 0.0
    product = draft.product(batch["product"])
    suite = next(s for s in draft.doc["suites"] if s["id"] == batch["suite"])
    taken = {p["id"] for p in draft.doc["products"]}
    occupancy_product = {
        "id": draft.fresh_id(f"{_base_product(product['id'])}~{why}-{batch['patient']}", taken),
        "fresh_shelf_life_hours": product["fresh_shelf_life_hours"],
        "receipt_hours": product["receipt_hours"],
        "manufacturing_hours": round(manufacturing, 6),
        "changeover_hours": round(changeover, 6),
        "suite_types": [suite["type"]],
        "steps": [],
        "qc_assays": [],
        "qp_release_days": 0,
    }
    draft.doc["products"].append(occupancy_product)
    ids = {b["patient"] for b in draft.doc["in_progress"]} | {
        p["id"] for p in draft.doc["patients"]
    }
    draft.doc["in_progress"].append(
        {
            "patient": draft.fresh_id(f"{batch['patient']}~{why}", ids),
            "product": occupancy_product["id"],
            "hospital": batch["hospital"],
            "suite": batch["suite"],
            "position": batch["position"],
            "manufacturing_start": batch["manufacturing_start"],
        }
    )
