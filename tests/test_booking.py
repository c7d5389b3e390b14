"""One more patient into a published plan without moving anyone (scheduler/workflows/booking.py)."""

from __future__ import annotations

from datetime import date

from models import ObjectiveValues, Patient, Schedule, load_instance
from scheduler.workflows.booking import PublishedPlan
from tests.service.support import booking_site, new_patient
from validator import compute_objective, validate


def _patient(patient_id: str, day: date) -> Patient:
    return Patient.model_validate(new_patient("H1", day, day, id=patient_id))


def _plan_of(
    instance_doc: dict[str, object], booked: list[tuple[Patient, object]]
) -> tuple[object, Schedule]:
    instance = load_instance(
        instance_doc
        | {"patients": [p.model_dump(mode="json", exclude_unset=True) for p, _ in booked]}
    )
    schedule = Schedule(
        format="cart-schedule/1",
        instance=instance.name,
        status="FEASIBLE",
        objective=None,
        bound=None,
        solve_seconds=0,
        assignments=[a for _, a in booked],
        unscheduled=[],
    )
    values = compute_objective(instance, schedule)
    schedule.objective = ObjectiveValues(**values)
    schedule.bound = ObjectiveValues(
        scheduled_weight=values["scheduled_weight"], plan_changes=0, wait_days=0
    )
    return instance, schedule


def test_a_booking_never_recolours_someone_onto_another_position() -> None:
    """Two positions: A holds position 1 Tue–Fri, B position 2 from Sat. C (fresh, must start Thu)
    would fit only if B moved to position 1, which a booking may not do: C is refused naming C5."""
    site = booking_site(positions=2)
    site["products"][0]["fresh_shelf_life_hours"] = (
        20  # collected Wed 13:00: only Thu 08:00 is left
    )
    plan = PublishedPlan(load_instance(site), _plan_of(site, [])[1])
    first = _patient("A", date(2027, 1, 4))
    a = plan.place(first, date(2027, 1, 4))
    assert not isinstance(a, str) and a.position == 1
    plan.take(first, a)
    second = _patient("B", date(2027, 1, 8))
    b = plan.place(second, date(2027, 1, 8))
    assert not isinstance(b, str)
    b = b.model_copy(update={"position": 2})  # as a solver might have coloured it
    plan.take(second, b)
    third = _patient("C", date(2027, 1, 6))
    refused = plan.place(third, date(2027, 1, 6))
    assert isinstance(refused, str) and refused.startswith("C5 suite")
    instance, schedule = _plan_of(site, [(first, a), (second, b)])
    assert validate(instance, schedule) == []  # type: ignore[arg-type]


def test_offers_fill_the_chairs_and_every_booked_plan_stays_valid() -> None:
    """H1 has two chairs on Wednesday: two bookings fit, the third date offer disappears; the plan stays valid."""
    site = booking_site(chairs=2)
    plan = PublishedPlan(load_instance(site), _plan_of(site, [])[1])
    wednesday = date(2027, 1, 6)
    booked = []
    for name in ("P1", "P2"):
        patient = _patient(name, wednesday)
        [offer] = plan.availability(patient).offers
        assert offer.apheresis_date == wednesday
        plan.take(patient, offer.assignment)
        booked.append((patient, offer.assignment))
    answer = plan.availability(_patient("P3", wednesday))
    assert answer.offers == [] and answer.unavailable[wednesday].startswith("C2 apheresis")
    instance, schedule = _plan_of(site, booked)
    assert validate(instance, schedule) == []  # type: ignore[arg-type]
    plan.release("P1", booked[0][1])
    assert [o.apheresis_date for o in plan.availability(_patient("P3", wednesday)).offers] == [
        wednesday
    ]


def test_a_window_of_centuries_costs_no_more_than_the_horizon() -> None:
    """An order system sends a window from year 503 to 2100: only the horizon's days are weighed,
    each listed as an offer or a reason, and the answer comes as fast as for a one-week window."""
    site = booking_site()
    plan = PublishedPlan(load_instance(site), _plan_of(site, [])[1])
    patient = Patient.model_validate(new_patient("H1", date(503, 1, 14), date(2100, 1, 1), id="P9"))
    answer = plan.availability(patient)
    listed = {offer.apheresis_date for offer in answer.offers} | set(answer.unavailable)
    horizon = load_instance(site).horizon
    assert min(listed) >= horizon.start and len(listed) <= horizon.days
    assert answer.offers, "the horizon's open days are still offered"
    before_horizon = Patient.model_validate(
        new_patient("H1", date(503, 1, 14), date(503, 2, 1), id="P10")
    )
    [(day, reason)] = plan.availability(before_horizon).unavailable.items()
    assert day == date(503, 1, 14) and reason.startswith("C10 horizon")
