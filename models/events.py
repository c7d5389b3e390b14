"""Events that disrupt a plan: the document `cart-schedule-events/1` and its checks.

An events document is a JSON list of events, or an object
`{"format": "cart-schedule-events/1", "as_of": "2026-12-03T12:00", "events": [...]}`. Like an
instance, it is rejected with every problem at once, each with its JSON path
(`events[2].suite: unknown suite 'S99'`). Events are applied in the order given.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError

from models.checks import Problem
from models.instance import (
    Count,
    DateWindow,
    Identifier,
    Instance,
    LocalDate,
    LocalDateTime,
    Material,
    Number,
    OpenDateWindow,
    Patient,
    SpecModel,
)
from models.io import InputError, _read_json, problems_of

EVENTS_FORMAT = "cart-schedule-events/1"


class EventsError(InputError):
    """An events document breaks its format or refers to what the instance does not have."""


class EventModel(SpecModel):
    """Base of every event: an optional id (the diff names it as the cause of a change)."""

    # A misspelt field in an event would silently change nothing: reject unknown fields.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: Identifier | None = None

    @property
    def label(self) -> str:
        """How reports name the event: its id, else its kind."""
        return self.id or str(getattr(self, "kind", "event"))


class PatientAdded(EventModel):
    """A new patient joins the plan (a full SPEC patient)."""

    kind: Literal["patient_added"]
    patient: Patient


class PatientCancelled(EventModel):
    """A patient leaves the plan; an in-progress batch keeps its position until `suite_free_from`."""

    kind: Literal["patient_cancelled"]
    patient: Identifier
    # Only for a batch already in manufacturing; default: its planned end plus changeover.
    suite_free_from: LocalDateTime | None = None


class PatientDelayed(EventModel):
    """The patient can be collected only in a new apheresis window."""

    kind: Literal["patient_delayed"]
    patient: Identifier
    apheresis_window: DateWindow
    infusion_window: OpenDateWindow | None = None


class BatchFailed(EventModel):
    """An in-progress batch failed: its position is blocked until `suite_free_from` and the
    patient needs a new apheresis, with more weight (urgency)."""

    kind: Literal["batch_failed"]
    patient: Identifier
    suite_free_from: LocalDateTime
    apheresis_window: DateWindow
    weight_factor: Annotated[Number, Field(gt=0)] = 2
    weight: Annotated[Number, Field(ge=0)] | None = None
    infusion_window: OpenDateWindow | None = None
    material: Material | None = None


class SuiteDown(EventModel):
    """A suite closes every position for `[start, end)` (local)."""

    kind: Literal["suite_down"]
    suite: Identifier
    start: LocalDateTime
    end: LocalDateTime
    reason: str | None = None


class OperatorAbsent(EventModel):
    """An operator works none of their rostered shifts on these dates."""

    kind: Literal["operator_absent"]
    operator: Identifier
    dates: Annotated[list[LocalDate], Field(min_length=1)]


class QcCapacityChanged(EventModel):
    """The lab can start `capacity` assays of one kind on each of these dates."""

    kind: Literal["qc_capacity_changed"]
    assay: Identifier
    dates: Annotated[list[LocalDate], Field(min_length=1)]
    capacity: Count


class QcRetest(EventModel):
    """A batch's assay must be repeated, sampled again on `from` (it starts on or after it)."""

    kind: Literal["qc_retest"]
    patient: Identifier
    assay: Identifier
    from_date: LocalDate = Field(alias="from")


Event = Annotated[
    PatientAdded
    | PatientCancelled
    | PatientDelayed
    | BatchFailed
    | SuiteDown
    | OperatorAbsent
    | QcCapacityChanged
    | QcRetest,
    Field(discriminator="kind"),
]
KINDS: tuple[str, ...] = (
    "patient_added",
    "patient_cancelled",
    "patient_delayed",
    "batch_failed",
    "suite_down",
    "operator_absent",
    "qc_capacity_changed",
    "qc_retest",
)
_EVENT = TypeAdapter(Event)
_KIND_IN_PATH = re.compile(r"^(events\[\d+\])\.(?:" + "|".join(KINDS) + r")(?=\.|$)")


class Events(SpecModel):
    """An events document: when the news is from (`as_of`, local) and the events in order."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["cart-schedule-events/1"] = "cart-schedule-events/1"
    as_of: LocalDateTime | None = None
    events: list[Event] = Field(default_factory=list)


# What `replan` accepts, as a JSON Schema (`cart-schedule schema events`, the OpenAPI body of a
# re-plan): the document, or its bare list of events. Parsing is `load_events`, which reports
# every problem with its path; this type only describes the input.
EventsDocument = Annotated[
    Events | list[Event],
    Field(
        title="cart-schedule-events/1",
        description="An events document, or the bare list of its events.",
    ),
]


def _event_problems(index: int, item: Any) -> tuple[Any, list[Problem]]:
    """One event validated on its own, so that a broken event does not hide the others' problems."""
    path = f"events[{index}]"
    if not isinstance(item, dict):
        return None, [Problem(path, "an event must be a JSON object")]
    if "kind" not in item:
        return None, [Problem(f"{path}.kind", "required field is missing")]
    if item["kind"] not in KINDS:
        return None, [
            Problem(
                f"{path}.kind", f"unknown event kind {item['kind']!r} (kinds: {', '.join(KINDS)})"
            )
        ]
    try:
        return _EVENT.validate_python(item), []
    except ValidationError as exc:
        problems = []
        for problem in problems_of(exc):
            # The union names the kind in the location (`suite_down.suite`); the document does not.
            full = f"{path}.{problem.path}" if problem.path else path
            problems.append(Problem(_KIND_IN_PATH.sub(r"\1", full), problem.message))
        return None, problems


def parse_events(data: Any) -> tuple[Events | None, list[Problem]]:
    """Every format problem of an events document (a list or an object), and the document if none."""
    document, _, problems = _parse(data)
    return document, problems


def _parse(data: Any) -> tuple[Events | None, list[Any], list[Problem]]:
    """The document if it has no format problem; else every event that parsed (None where not) and the problems."""
    if isinstance(data, list):
        data = {"events": data}
    if not isinstance(data, dict):
        return (
            None,
            [],
            [Problem("", "the document must be a JSON list of events or an object with `events`")],
        )
    problems: list[Problem] = []
    envelope = {key: value for key, value in data.items() if key != "events"}
    try:
        Events.model_validate(envelope)
    except ValidationError as exc:
        problems += problems_of(exc)
    items = data.get("events", [])
    if not isinstance(items, list):
        return None, [], [*problems, Problem("events", "must be a list of events")]
    events = []
    for index, item in enumerate(items):
        event, found = _event_problems(index, item)
        problems += found
        events.append(event)
    if problems:
        return None, events, problems
    document = Events.model_validate(envelope)
    document.events = events
    return document, events, []


def load_events(
    source: str | Path | bytes | dict[str, Any] | list[Any], instance: Instance | None = None
) -> Events:
    """Parse (and, given the instance, check) an events document; EventsError lists every problem."""
    if isinstance(source, list):
        data, name = source, ""
    else:
        data, name = _read_json(source, EventsError)
    document, parsed, problems = _parse(data)
    if instance is not None:
        # References of the events that did parse are checked too: every problem in one pass.
        problems = sorted(
            dict.fromkeys(problems + _check_list(parsed, instance)),
            key=lambda p: _event_index(p.path),
        )
    if problems or document is None:
        raise EventsError(problems, name)
    return document


def _window_problem(path: str, window: DateWindow | OpenDateWindow | None) -> list[Problem]:
    if window is None or window.latest is None or window.earliest <= window.latest:
        return []
    return [Problem(path, f"earliest {window.earliest} is after latest {window.latest}")]


class _References:
    """What events may refer to: the instance's ids, plus patients added by earlier events."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.patients = {p.id: p.product for p in instance.patients}
        self.patients |= {b.patient: b.product for b in instance.in_progress}
        self.cancelled: dict[str, str] = {}
        self.suites = {s.id for s in instance.suites}
        self.operators = {o.id for o in instance.operators}
        self.assays = set(instance.qc_lab.capacity)

    def patient(self, path: str, patient_id: str) -> list[Problem]:
        if patient_id in self.cancelled:
            return [
                Problem(
                    path, f"patient {patient_id!r} is cancelled by {self.cancelled[patient_id]}"
                )
            ]
        if patient_id not in self.patients:
            return [
                Problem(
                    path,
                    f"unknown patient {patient_id!r} (neither a patient nor an in-progress batch)",
                )
            ]
        return []


def check_events(events: Events, instance: Instance) -> list[Problem]:
    """Every reference and consistency problem of parsed events against the instance."""
    return _check_list(list(events.events), instance)


def _event_index(path: str) -> int:
    """The event's position in a problem path (`events[3].suite` → 3); -1 for the envelope."""
    if path.startswith("events[") and "]" in path:
        return int(path[len("events[") : path.index("]")])
    return -1


def _check_list(events: list[Any], instance: Instance) -> list[Problem]:
    """Reference problems of parsed events (None where an event did not parse), with their original paths."""
    problems: list[Problem] = []
    known = _References(instance)
    seen_ids: dict[str, int] = {}
    for index, event in enumerate(events):
        if event is None:
            continue
        path = f"events[{index}]"
        if event.id is not None:
            if event.id in seen_ids:
                problems.append(
                    Problem(
                        f"{path}.id",
                        f"duplicate event id {event.id!r} (also events[{seen_ids[event.id]}])",
                    )
                )
            seen_ids.setdefault(event.id, index)
        problems += _check_event(path, event, known)
    return problems


def _check_event(path: str, event: Any, known: _References) -> list[Problem]:
    instance = known.instance
    problems: list[Problem] = []
    if isinstance(event, PatientAdded):
        patient = event.patient
        if patient.id in known.patients:
            problems.append(Problem(f"{path}.patient.id", f"patient {patient.id!r} already exists"))
        if patient.hospital not in instance.hospital_by_id:
            problems.append(
                Problem(f"{path}.patient.hospital", f"unknown hospital {patient.hospital!r}")
            )
        if patient.product not in instance.product_by_id:
            problems.append(
                Problem(f"{path}.patient.product", f"unknown product {patient.product!r}")
            )
        problems += _window_problem(f"{path}.patient.apheresis_window", patient.apheresis_window)
        problems += _window_problem(f"{path}.patient.infusion_window", patient.infusion_window)
        if patient.locked and patient.previous_apheresis_date is None:
            problems.append(
                Problem(f"{path}.patient.locked", "a locked patient needs previous.apheresis_date")
            )
        known.patients[patient.id] = patient.product
        return problems
    if isinstance(event, (PatientCancelled, PatientDelayed, BatchFailed, QcRetest)):
        problems += known.patient(f"{path}.patient", event.patient)
    if isinstance(event, PatientCancelled):
        known.cancelled.setdefault(event.patient, path)
    elif isinstance(event, (PatientDelayed, BatchFailed)):
        problems += _window_problem(f"{path}.apheresis_window", event.apheresis_window)
        problems += _window_problem(f"{path}.infusion_window", event.infusion_window)
    elif isinstance(event, SuiteDown):
        if event.suite not in known.suites:
            problems.append(Problem(f"{path}.suite", f"unknown suite {event.suite!r}"))
        if event.start >= event.end:
            problems.append(
                Problem(
                    path,
                    f"start {event.start:%Y-%m-%dT%H:%M} is not before end {event.end:%Y-%m-%dT%H:%M}",
                )
            )
    elif isinstance(event, OperatorAbsent):
        if event.operator not in known.operators:
            problems.append(Problem(f"{path}.operator", f"unknown operator {event.operator!r}"))
    elif isinstance(event, QcCapacityChanged):
        if event.assay not in known.assays:
            problems.append(
                Problem(
                    f"{path}.assay",
                    f"unknown assay {event.assay!r} (assays: {', '.join(sorted(known.assays))})",
                )
            )
    elif isinstance(event, QcRetest):
        product_id = known.patients.get(event.patient)
        product = instance.product_by_id.get(product_id or "")
        if event.assay not in known.assays:
            problems.append(Problem(f"{path}.assay", f"unknown assay {event.assay!r}"))
        elif product is not None and all(a.id != event.assay for a in product.qc_assays):
            problems.append(
                Problem(
                    f"{path}.assay",
                    f"product {product.id!r} of {event.patient!r} has no assay {event.assay!r}",
                )
            )
    return problems


__all__ = [
    "EVENTS_FORMAT",
    "KINDS",
    "BatchFailed",
    "Event",
    "Events",
    "EventsDocument",
    "EventsError",
    "OperatorAbsent",
    "PatientAdded",
    "PatientCancelled",
    "PatientDelayed",
    "QcCapacityChanged",
    "QcRetest",
    "SuiteDown",
    "check_events",
    "load_events",
    "parse_events",
]
