"""The exchange formats of cart-scheduler: instances, schedules and their checks (SPEC 5-8)."""

from models.checks import Problem, check_instance
from models.instance import (
    INSTANCE_FORMAT,
    MEASURES,
    InProgress,
    Instance,
    Operator,
    Patient,
    Product,
    Suite,
)
from models.io import (
    InputError,
    InstanceError,
    ScheduleFormatError,
    load_instance,
    load_schedule,
    to_json,
    write_json,
)
from models.schedule import (
    SCHEDULE_FORMAT,
    Assignment,
    ObjectiveValues,
    Schedule,
    ScheduledAssay,
    ScheduledStep,
    Unscheduled,
)

__all__ = [
    "INSTANCE_FORMAT",
    "MEASURES",
    "SCHEDULE_FORMAT",
    "Assignment",
    "InProgress",
    "InputError",
    "Instance",
    "InstanceError",
    "ObjectiveValues",
    "Operator",
    "Patient",
    "Problem",
    "Product",
    "Schedule",
    "ScheduleFormatError",
    "ScheduledAssay",
    "ScheduledStep",
    "Suite",
    "Unscheduled",
    "check_instance",
    "load_instance",
    "load_schedule",
    "to_json",
    "write_json",
]
