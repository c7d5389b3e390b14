"""A starting plan guided by the linear relaxation: the first-come planner, told what the LP chose.

On overloaded sites the first-come plan schedules the locked, the heaviest and the earliest
patients first and leaves many positions to patients who block two others. The relaxation's
optimum says which patients and which starts a near-optimal plan uses: placing those patients
first, each at the start the relaxation gave most of, reaches far more weight (generated l
waitlist seed 3: 216 against 204, bound 220; xl overload seed 1: 416 against 382, bound 426),
a better floor and hint for CP-SAT (docs/PERFORMANCE.md, "Bounds that move").
"""

from __future__ import annotations

from scheduler.model.variables import PlanVariables
from scheduler.problem.batches import Batch
from scheduler.problem.first_come import GreedyPlanner, coordinator_order, option_order_of
from scheduler.problem.options import PatientOptions, StartOption
from scheduler.problem.planning import PlanningProblem
from scheduler.search.relaxation import LinearRelaxation

# LP values closer than this are ties, broken by the coordinator's order (communicated date
# first): the relaxation is indifferent between many starts of equal worth.
TIE = 1


class RelaxationGuidedPlanner(GreedyPlanner):
    """The first-come planner with the patient and start orders of the relaxation's solution."""

    def __init__(
        self, problem: PlanningProblem, plan: PlanVariables, relaxation: LinearRelaxation
    ) -> None:
        super().__init__(problem)
        self.variables, self.relaxation = plan, relaxation
        self._index: dict[int, int] = {}  # id(start option) -> its index among the patient's

    def patient_order(self, options: PatientOptions) -> tuple[object, ...]:
        """Patients the relaxation schedules most fully first."""
        scheduled = self.relaxation.value(self.variables.scheduled[options.patient.id])
        return (-round(scheduled, 3), *coordinator_order(options))

    def option_order(self, options: PatientOptions, option: StartOption) -> tuple[object, ...]:
        """The starts the relaxation uses most first."""
        if id(option) not in self._index:
            self._index.update({id(o): i for i, o in enumerate(options.starts)})
        index = self._index[id(option)]
        used = sum(
            self.relaxation.value(self.variables.start_in_class[(options.patient.id, index, c)])
            for c in option.classes
        )
        return (-round(used, TIE), *option_order_of(options, option))


def relaxation_guided_batches(
    problem: PlanningProblem, plan: PlanVariables, relaxation: LinearRelaxation
) -> list[Batch] | None:
    """The guided plan (after the relaxation's last solve), or None if the commitments do not fit greedily."""
    return problem.within_reservation(RelaxationGuidedPlanner(problem, plan, relaxation).plan())
