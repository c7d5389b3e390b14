"""The decision variables of the CP-SAT model, named after what they decide."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ortools.sat.python import cp_model

from scheduler.problem.in_progress import Commitment
from scheduler.problem.options import PatientOptions, SuiteClass


@dataclass
class AssayPool:
    """Assays whose day only the lab's capacity cares about, sharing the same allowed lab days.

    Such assays are interchangeable, so the model counts how many start on each day (`flows`)
    instead of choosing a day per patient; days are handed out to the patients afterwards.
    """

    assay_id: str
    days: tuple[int, ...]  # the lab days allowed, earliest first
    flows: dict[int, cp_model.IntVar] = field(
        default_factory=dict
    )  # lab day -> assays starting then
    members: list[tuple[str, int, int]] = field(
        default_factory=list
    )  # (patient id, assay index, start day)


@dataclass
class PlanVariables:
    """Every variable of one plan model, keyed by domain ids.

    Steps are counted per (day, shift, product, step) rather than per patient: patients are
    interchangeable for operators, and counts keep the model small and free of symmetry.
    """

    model: cp_model.CpModel
    patients: list[PatientOptions]
    commitments: list[Commitment]
    classes: list[SuiteClass]
    scheduled: dict[str, cp_model.IntVar] = field(default_factory=dict)
    # patient id -> {day: manufacturing starts that day (any shift, any suite)}: what fixes
    # the dates of steps and samples
    starts_on_day: dict[str, dict[int, cp_model.IntVar]] = field(default_factory=dict)
    # (patient id, start option index, suite class index) -> starts there
    start_in_class: dict[tuple[str, int, int], cp_model.IntVar] = field(default_factory=dict)
    # (patient id, date) -> apheresis on that date (only patients still to be collected)
    apheresis_on: dict[tuple[str, date], cp_model.IntVar] = field(default_factory=dict)
    # (patient or batch id, assay index) -> {day: assay starts that day}; an expression over
    # `starts_on_day` where the start day leaves no choice
    assay_start: dict[tuple[str, int], dict[int, cp_model.LinearExprT]] = field(
        default_factory=dict
    )
    # (day, shift id, product id, step id) -> number of such steps done in that shift
    step_count: dict[tuple[int, str, str, str], cp_model.IntVar] = field(default_factory=dict)
    delivery_day: dict[str, cp_model.IntVar] = field(default_factory=dict)
    # (patient id, assay index) -> {start day: its pool}, for assays whose day never decides delivery
    assay_pool: dict[tuple[str, int], dict[int, AssayPool]] = field(default_factory=dict)
    # A re-plan's previous shift of a flexible step: (patient or batch id, step id, date) -> shift
    # id; decoding fills each shift's count with the steps that were there before first.
    previous_shifts: dict[tuple[str, str, date], str] = field(default_factory=dict)

    def starts(self, patient_id: str, option_index: int) -> list[cp_model.IntVar]:
        """The literals 'patient starts with this option' (one per suite class)."""
        options = self.options_of(patient_id)
        return [
            self.start_in_class[(patient_id, option_index, class_index)]
            for class_index in options.starts[option_index].classes
        ]

    def options_of(self, patient_id: str) -> PatientOptions:
        """The options of a new patient."""
        return self._options_by_id[patient_id]

    def __post_init__(self) -> None:
        self._options_by_id = {p.patient.id: p for p in self.patients}


def create_variables(
    patients: list[PatientOptions],
    commitments: list[Commitment],
    classes: list[SuiteClass],
) -> PlanVariables:
    """Create the choice variables of every patient (steps and deliveries are added by their rules)."""
    model = cp_model.CpModel()
    plan = PlanVariables(model, patients, commitments, classes)
    for options in patients:
        patient_id = options.patient.id
        _add_start_variables(plan, options)
        by_day: dict[int, list[cp_model.IntVar]] = {}
        for index, option in enumerate(options.starts):
            by_day.setdefault(option.slot.day, []).extend(plan.starts(patient_id, index))
        for start_day, literals in by_day.items():
            on_day = model.new_bool_var(f"starts_on_day[{patient_id},{start_day}]")
            model.add(on_day == sum(literals))
            plan.starts_on_day.setdefault(patient_id, {})[start_day] = on_day
        if options.uses_chair:
            for collection in options.apheresis_dates:
                plan.apheresis_on[(patient_id, collection)] = model.new_bool_var(
                    f"apheresis[{patient_id},{collection}]"
                )
    return plan


def _add_start_variables(plan: PlanVariables, options: PatientOptions) -> None:
    """A patient's `scheduled` literal and one literal per start option and suite class."""
    model, patient_id = plan.model, options.patient.id
    plan.scheduled[patient_id] = model.new_bool_var(f"scheduled[{patient_id}]")
    if not options.starts:
        model.add(plan.scheduled[patient_id] == 0)
    for index, option in enumerate(options.starts):
        for class_index in option.classes:
            plan.start_in_class[(patient_id, index, class_index)] = model.new_bool_var(
                f"start[{patient_id},{option.slot.label},class{class_index}]"
            )
