"""The order system's questions over HTTP: which dates can be offered, book one, cancel it."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from models import load_instance, load_schedule
from tests.service.support import HORIZON_START, booking_site, new_patient, solve_and_publish
from validator import validate

WEDNESDAY = HORIZON_START + timedelta(days=2)
FRIDAY = HORIZON_START + timedelta(days=4)
SATURDAY = HORIZON_START + timedelta(days=5)


def _book(
    client: httpx.Client, patient_id: str, day: date, key: str | None = None, **fields: object
) -> httpx.Response:
    body = (
        new_patient("H1", WEDNESDAY, SATURDAY, id=patient_id, apheresis_date=day.isoformat())
        | fields
    )
    return client.post(
        "/v1/bookings", json=body, headers={"Idempotency-Key": key or f"book-{patient_id}-{day}"}
    )


def _published_is_valid(coordinator: httpx.Client) -> dict[str, object]:
    published = coordinator.get("/v1/published").json()
    assert (
        validate(load_instance(published["instance"]), load_schedule(published["schedule"])) == []
    )
    return published  # type: ignore[no-any-return]


def test_availability_offers_each_feasible_date_best_delivery_first_and_reserves_nothing(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """Wed–Fri collections are offered (earliest delivery first); Saturday is not, because H1 collects Mon–Fri."""
    solve_and_publish(coordinator, booking_site())
    ask = new_patient("H1", WEDNESDAY, SATURDAY)
    answer = order_system.post("/v1/availability", json=ask)
    assert answer.status_code == 200
    offers = answer.json()["offers"]
    assert [o["apheresis_date"] for o in offers] == ["2027-01-06", "2027-01-07", "2027-01-08"]
    deliveries = [o["delivery_date"] for o in offers]
    assert deliveries == sorted(deliveries)
    assert (
        offers[0]["manufacturing_start"] == "2027-01-07T08:00:00+01:00"
    )  # the first shift after receipt
    [saturday] = answer.json()["unavailable"]
    assert saturday["apheresis_date"] == "2027-01-09" and saturday["reason"].startswith(
        "C2 apheresis"
    )
    assert (
        order_system.post("/v1/availability", json=ask).json()["offers"] == offers
    )  # nothing was reserved
    assert [e["action"] for e in coordinator.get("/v1/audit").json()][-1] == "plan.published"


def test_a_booking_is_201_with_the_full_assignment_and_enters_the_published_plan(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """The patient now holds a chair, a suite position, an operator and a QC slot; the published plan stays valid."""
    solve_and_publish(coordinator, booking_site())
    booked = _book(order_system, "NEW-1", WEDNESDAY)
    assert booked.status_code == 201, booked.text
    assignment = booked.json()["assignment"]
    assert assignment["patient"] == "NEW-1" and assignment["apheresis_date"] == "2027-01-06"
    assert assignment["suite"] == "S1" and assignment["steps"][0]["operators"] and assignment["qc"]
    assert order_system.get("/v1/bookings/NEW-1").json()["assignment"] == assignment
    published = _published_is_valid(coordinator)
    schedule = published["schedule"]
    assert isinstance(schedule, dict) and schedule["status"] == "FEASIBLE"
    assert [a["patient"] for a in schedule["assignments"]] == ["NEW-1"]
    booked_patient = published["instance"]["patients"][0]  # type: ignore[index]
    assert booked_patient["previous"] == {
        "apheresis_date": "2027-01-06"
    }  # the booked date is now communicated


def test_the_same_idempotency_key_returns_the_same_answer_and_books_nothing(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """A retried request (lost answer) replays the first answer; reusing the key for another request is refused."""
    solve_and_publish(coordinator, booking_site())
    first = _book(order_system, "NEW-1", WEDNESDAY, key="retry-me")
    again = _book(order_system, "NEW-1", WEDNESDAY, key="retry-me")
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert sum(e["action"] == "booking.made" for e in coordinator.get("/v1/audit").json()) == 1
    other = _book(order_system, "NEW-2", WEDNESDAY, key="retry-me")
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    assert _book(order_system, "NEW-1", FRIDAY).status_code == 409  # the patient is already booked
    missing_key = order_system.post(
        "/v1/bookings",
        json=new_patient("H1", WEDNESDAY, SATURDAY, id="X", apheresis_date="2027-01-06"),
    )
    assert missing_key.status_code == 422


def test_a_full_date_is_409_with_the_reason_and_a_cancellation_frees_it(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """H1 has two chairs a day: the third booking on Wednesday is refused naming C2; cancelling one frees the chair."""
    solve_and_publish(coordinator, booking_site(chairs=2))
    assert _book(order_system, "A", WEDNESDAY).status_code == 201
    assert _book(order_system, "B", WEDNESDAY).status_code == 201
    refused = _book(order_system, "C", WEDNESDAY)
    assert refused.status_code == 409
    assert refused.json()["reason"].startswith("C2 apheresis: every chair of H1")
    offered = order_system.post(
        "/v1/availability", json=new_patient("H1", WEDNESDAY, WEDNESDAY)
    ).json()
    assert offered["offers"] == []
    cancelled = order_system.delete("/v1/bookings/A")
    assert cancelled.status_code == 200 and cancelled.json()["cancelled"] is True
    assert order_system.get("/v1/bookings/A").status_code == 404
    assert order_system.delete("/v1/bookings/A").status_code == 404
    assert _book(order_system, "C", WEDNESDAY, key="second-try").status_code == 201
    _published_is_valid(coordinator)
    trail = [
        (e["action"], e["entity_id"], e["actor"])
        for e in coordinator.get("/v1/audit").json()
        if e["entity"] == "booking"
    ]
    assert trail == [
        ("booking.made", "A", "order-system-1"),
        ("booking.made", "B", "order-system-1"),
        ("booking.cancelled", "A", "order-system-1"),
        ("booking.made", "C", "order-system-1"),
    ]


def test_bad_order_requests_are_422_naming_the_field(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """Unknown hospital, reversed window, a window outside the horizon, a date outside the window, wrong types."""
    solve_and_publish(coordinator, booking_site())
    unknown = order_system.post("/v1/availability", json=new_patient("H9", WEDNESDAY, SATURDAY))
    assert unknown.status_code == 422 and unknown.json()["problems"][0]["path"] == "body.hospital"
    reversed_window = order_system.post(
        "/v1/availability", json=new_patient("H1", SATURDAY, WEDNESDAY)
    )
    assert reversed_window.json()["problems"][0]["path"] == "body.apheresis_window"
    outside = order_system.post(
        "/v1/availability", json=new_patient("H1", date(2027, 3, 1), date(2027, 3, 5))
    )
    assert outside.status_code == 422 and "horizon" in outside.json()["problems"][0]["message"]
    wrong_date = _book(order_system, "NEW-1", date(2027, 1, 20))
    assert (
        wrong_date.status_code == 422
        and wrong_date.json()["problems"][0]["path"] == "body.apheresis_date"
    )
    typed = order_system.post(
        "/v1/availability",
        json={"hospital": "H1", "weight": "x", "apheresis_window": {"earliest": "soon"}},
    )
    paths = {p["path"] for p in typed.json()["problems"]}
    assert (
        typed.status_code == 422
        and {"body.weight", "body.product", "body.apheresis_window.earliest"} <= paths
    )
    assert order_system.get("/v1/bookings/NOBODY").status_code == 404


def test_publishing_a_new_plan_keeps_every_confirmed_booking_or_changes_nothing(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """Bookings are carried into the next published plan; a plan that would move a booked date is refused (409)."""
    solve_and_publish(coordinator, booking_site(chairs=1))
    assert _book(order_system, "NEW-1", WEDNESDAY).status_code == 201
    # The coordinator's next plan does not know NEW-1: the booking is re-placed on its date.
    second = solve_and_publish(coordinator, booking_site(name="next-week", chairs=1))
    assert order_system.get("/v1/bookings/NEW-1").json()["plan_id"] == second
    _published_is_valid(coordinator)
    # A plan that collects NEW-1 on another day breaks a confirmed booking: refused, nothing changes.
    moved = booking_site(
        name="moved", chairs=1, patients=[new_patient("H1", FRIDAY, FRIDAY, id="NEW-1")]
    )
    plan_id = coordinator.post("/v1/plans", json=moved, params={"time_limit": 20}).json()["id"]
    from tests.service.support import wait_for_plan

    wait_for_plan(coordinator, plan_id, {"done"}, timeout=60)
    refused = coordinator.post(f"/v1/plans/{plan_id}/publish", json={"reason": "moved NEW-1"})
    assert refused.status_code == 409
    assert "NEW-1" in refused.json()["conflicts"][0]
    assert coordinator.get("/v1/published").json()["plan_id"] == second


def test_a_patient_id_with_control_characters_is_refused_alone(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """A NUL in an id cannot be stored; it is that request's 422 and never spoils bookings written with it."""
    solve_and_publish(coordinator, booking_site())
    refused = _book(order_system, "BAD\x00ID", WEDNESDAY, key="bad-id")
    assert refused.status_code == 422 and refused.json()["problems"][0]["path"] == "body.id"
    assert _book(order_system, "GOOD", WEDNESDAY).status_code == 201
