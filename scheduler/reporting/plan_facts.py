"""Facts read from a schedule document: suite occupancy, downtime, operator and QC-lab load.

Shared by the KPIs (`scheduler.kpis`) and the pictures (`scheduler.gantt`). Everything is
computed from the `cart-schedule/1` document and its instance alone, so a schedule read from
a file works as well as one fresh from the solver. Times are aware instants in site time.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import Assignment, Instance, Product, Schedule
from models.instance import Shift, Step
from models.timeutil import add_hours, at_clock, hours_between, local_instant

MIDNIGHT = time(0, 0)


class ScheduleMismatch(ValueError):
    """The schedule names something its instance does not have (patient, step, shift, suite)."""


@dataclass(frozen=True)
class Horizon:
    """The horizon as real instants: `[start, end)` in site time, and its dates."""

    zone: ZoneInfo
    first_date: date
    end_date: date  # exclusive
    start: datetime
    end: datetime

    @property
    def hours(self) -> float:
        """Real hours in the horizon (503 over a spring-forward week, not 504)."""
        return hours_between(self.start, self.end)

    @property
    def dates(self) -> list[date]:
        """Every date of the horizon."""
        return [
            self.first_date + timedelta(days=n)
            for n in range((self.end_date - self.first_date).days)
        ]

    def contains(self, day: date) -> bool:
        """Whether a date lies in the horizon."""
        return self.first_date <= day < self.end_date

    def local(self, instant: datetime) -> datetime:
        """An aware instant as naive site wall-clock time (what a coordinator reads on a chart)."""
        return instant.astimezone(self.zone).replace(tzinfo=None)


@dataclass(frozen=True)
class Occupancy:
    """One batch on one suite position: `[start, free_at)` is occupied, changeover included."""

    assignment: Assignment
    product: Product
    start: datetime
    end: datetime  # manufacturing end; the changeover runs from here to `free_at`
    free_at: datetime

    @property
    def row(self) -> tuple[str, int]:
        """The suite position `(suite, position)`."""
        return (self.assignment.suite, self.assignment.position)


@dataclass(frozen=True)
class Downtime:
    """A period `[start, end)` in which every position of a suite is closed."""

    suite: str
    start: datetime
    end: datetime
    reason: str


@dataclass(frozen=True)
class ShiftLoad:
    """Operator hands-on hours assigned in one `(date, shift)` against the hours rostered."""

    day: date
    shift: Shift
    start: datetime
    assigned_hours: float  # step hours × operators on the step, summed over steps
    rostered_hours: float  # shift hours × operators rostered
    rostered_operators: int
    steps: tuple[str, ...]  # "P0001 activation" per step


@dataclass(frozen=True)
class LabDay:
    """QC assay starts on one date against the lab's capacity (0 when the lab is closed)."""

    day: date
    starts: dict[str, int]
    capacity: dict[str, int]
    patients: tuple[str, ...]  # "P0001 sterility" per start

    @property
    def total_starts(self) -> int:
        """Starts of every assay."""
        return sum(self.starts.values())

    @property
    def total_capacity(self) -> int:
        """Capacity summed over assays."""
        return sum(self.capacity.values())


def horizon_of(instance: Instance) -> Horizon:
    """The horizon of an instance, from local midnight of its first date to that of its end."""
    zone = ZoneInfo(instance.site.timezone)
    first = instance.horizon.start
    end = first + timedelta(days=instance.horizon.days)
    return Horizon(zone, first, end, at_clock(first, MIDNIGHT, zone), at_clock(end, MIDNIGHT, zone))


def overlap_hours(
    start: datetime, end: datetime, window_start: datetime, window_end: datetime
) -> float:
    """Real hours of `[start, end)` inside `[window_start, window_end)`."""
    return max(0.0, hours_between(max(start, window_start), min(end, window_end)))


def products_by_batch(instance: Instance) -> dict[str, Product]:
    """The product of every new patient and in-progress batch, by patient id."""
    product_ids = {p.id: p.product for p in instance.patients}
    product_ids.update({b.patient: b.product for b in instance.in_progress})
    return {patient: instance.product_by_id[product] for patient, product in product_ids.items()}


def product_of(instance: Instance, products: dict[str, Product], assignment: Assignment) -> Product:
    """The product an assignment makes (`products` from `products_by_batch`)."""
    product = products.get(assignment.patient)
    if product is None:
        raise ScheduleMismatch(
            f"the schedule assigns {assignment.patient}, which is neither a patient nor an "
            f"in-progress batch of instance {instance.name}"
        )
    return product


def step_of(product: Product, step_id: str) -> Step:
    """A product's step by id."""
    for step in product.steps:
        if step.id == step_id:
            return step
    raise ScheduleMismatch(f"product {product.id} has no step {step_id!r}")


def occupancies(instance: Instance, schedule: Schedule) -> list[Occupancy]:
    """Every assignment's occupied interval on its suite position, in start order."""
    zone = ZoneInfo(instance.site.timezone)
    products = products_by_batch(instance)
    found = []
    for assignment in schedule.assignments:
        product = product_of(instance, products, assignment)
        suite = instance.suite_by_id.get(assignment.suite)
        if suite is None or not 1 <= assignment.position <= suite.positions:
            raise ScheduleMismatch(
                f"{assignment.patient} is on {assignment.suite} position {assignment.position}, "
                f"which instance {instance.name} does not have"
            )
        end = assignment.manufacturing_end
        found.append(
            Occupancy(
                assignment,
                product,
                assignment.manufacturing_start,
                end,
                add_hours(end, product.changeover_hours, zone),
            )
        )
    return sorted(found, key=lambda o: (o.start, o.assignment.patient))


def downtimes(instance: Instance) -> list[Downtime]:
    """Every suite's unavailable periods as real instants."""
    zone = ZoneInfo(instance.site.timezone)
    return [
        Downtime(
            suite.id,
            local_instant(period.start, zone),
            local_instant(period.end, zone),
            period.reason or "",
        )
        for suite in instance.suites
        for period in suite.unavailable
    ]


def downtime_hours(instance: Instance, suite_id: str, horizon: Horizon) -> float:
    """Real hours inside the horizon in which a suite is closed (overlapping periods counted once)."""
    periods = sorted((d.start, d.end) for d in downtimes(instance) if d.suite == suite_id)
    total, covered_until = 0.0, horizon.start
    for start, end in periods:
        start = max(start, covered_until)
        if end > start:
            total += overlap_hours(start, end, horizon.start, horizon.end)
            covered_until = end
    return total


def positions(instance: Instance) -> list[tuple[str, int]]:
    """Every suite position `(suite, position)` in instance order."""
    return [(suite.id, n) for suite in instance.suites for n in range(1, suite.positions + 1)]


def shift_loads(instance: Instance, schedule: Schedule) -> list[ShiftLoad]:
    """Assigned and rostered operator hours of every horizon `(date, shift)` with either, in time order."""
    horizon = horizon_of(instance)
    assigned: dict[tuple[date, str], float] = defaultdict(float)
    steps: dict[tuple[date, str], list[str]] = defaultdict(list)
    products = products_by_batch(instance)
    for assignment in schedule.assignments:
        product = product_of(instance, products, assignment)
        for scheduled in assignment.steps:
            key = (scheduled.date, scheduled.shift)
            assigned[key] += step_of(product, scheduled.step).hours * len(scheduled.operators)
            steps[key].append(f"{assignment.patient} {scheduled.step}")
    rostered: dict[tuple[date, str], int] = defaultdict(int)
    for operator in instance.operators:
        for entry in operator.roster:
            if horizon.contains(entry.date):
                rostered[(entry.date, entry.shift)] += 1
    loads = [
        _shift_load(
            instance, horizon, key, assigned.get(key, 0.0), rostered.get(key, 0), steps.get(key, [])
        )
        for key in set(assigned) | set(rostered)
    ]
    return sorted(loads, key=lambda load: (load.start, load.shift.id))


def _shift_load(
    instance: Instance,
    horizon: Horizon,
    key: tuple[date, str],
    assigned: float,
    operators: int,
    steps: list[str],
) -> ShiftLoad:
    day, shift_id = key
    shift = instance.shift_by_id.get(shift_id)
    if shift is None:
        raise ScheduleMismatch(
            f"shift {shift_id!r} on {day} is not a site shift of {instance.name}"
        )
    start = at_clock(day, shift.start_time, horizon.zone)
    return ShiftLoad(day, shift, start, assigned, operators * shift.hours, operators, tuple(steps))


def lab_days(instance: Instance, schedule: Schedule) -> list[LabDay]:
    """Assay starts and capacity on every horizon date.

    Starts before the horizon are in-progress assays sampled before it: they use no capacity
    (SPEC C11) and are left out.
    """
    horizon = horizon_of(instance)
    starts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    labels: dict[date, list[str]] = defaultdict(list)
    for assignment in schedule.assignments:
        for assay in assignment.qc:
            if horizon.contains(assay.start_date):
                starts[assay.start_date][assay.assay] += 1
                labels[assay.start_date].append(f"{assignment.patient} {assay.assay}")
    days = []
    for day in horizon.dates:
        open_today = instance.qc_lab.is_open(day)
        capacity = {
            assay: (instance.qc_lab.capacity_on(assay, day) if open_today else 0)
            for assay in instance.qc_lab.capacity
        }
        days.append(LabDay(day, dict(starts.get(day, {})), capacity, tuple(labels.get(day, []))))
    return days
