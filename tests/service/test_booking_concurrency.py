"""Bookings under load: never a double-booking, never a lost confirmation."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from api.db import Booking, PublishedEntry, create_db_engine, session_factory
from models import load_instance, load_schedule
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
)
from validator import validate

WEDNESDAY = HORIZON_START + timedelta(days=2)


def _booking(
    patient_id: str, hospital: str, earliest: Any, latest: Any, day: Any
) -> dict[str, Any]:
    return new_patient(hospital, earliest, latest, id=patient_id, apheresis_date=day.isoformat())


def _published(coordinator: httpx.Client) -> tuple[Any, Any]:
    published = coordinator.get("/v1/published").json()
    instance, schedule = load_instance(published["instance"]), load_schedule(published["schedule"])
    assert validate(instance, schedule) == []
    return instance, schedule


def test_fifty_parallel_bookings_for_the_last_free_chair_give_exactly_one_201(
    server: Server, coordinator: httpx.Client, keys: dict[str, str]
) -> None:
    """H1 has two chairs on Wednesday and the plan already collects one patient there: one chair is left."""
    planned = new_patient("H1", WEDNESDAY, WEDNESDAY, id="PLANNED")
    solve_and_publish(coordinator, booking_site(chairs=2, patients=[planned]))
    start = threading.Barrier(50)

    def book(index: int) -> httpx.Response:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
        ) as client:
            start.wait()
            return client.post(
                "/v1/bookings",
                json=_booking(f"RACE-{index:02d}", "H1", WEDNESDAY, WEDNESDAY, WEDNESDAY),
                headers={"Idempotency-Key": f"race-{index}"},
            )

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(book, range(50)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] + [409] * 49
    assert all(
        a.json()["reason"].startswith("C2 apheresis") for a in answers if a.status_code == 409
    )
    _, schedule = _published(coordinator)
    on_wednesday = [a for a in schedule.assignments if a.apheresis_date == WEDNESDAY]
    assert len(on_wednesday) == 2


def test_two_hundred_parallel_bookings_and_cancellations_leave_a_valid_plan_holding_every_201(
    server: Server, coordinator: httpx.Client, keys: dict[str, str]
) -> None:
    """Scarce chairs, positions, operators and QC slots; random order, 16 clients at once."""
    solve_and_publish(coordinator, booking_site(chairs=3, positions=8, operators=3, qc_capacity=3))
    rng = random.Random(7)
    operations: list[tuple[str, str, dict[str, Any] | None]] = []
    for index in range(140):
        earliest = HORIZON_START + timedelta(days=rng.randrange(0, 12))
        latest = earliest + timedelta(days=2)
        day = earliest + timedelta(days=rng.randrange(0, 3))
        operations.append(
            (
                "book",
                f"B{index:03d}",
                _booking(f"B{index:03d}", rng.choice(["H1", "H2"]), earliest, latest, day),
            )
        )
    operations += [("cancel", f"B{rng.randrange(140):03d}", None) for _ in range(60)]
    rng.shuffle(operations)
    local = threading.local()

    def run(operation: tuple[str, str, dict[str, Any] | None]) -> tuple[str, str, int]:
        if not hasattr(local, "client"):
            local.client = httpx.Client(
                base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
            )
        kind, patient_id, body = operation
        if kind == "book":
            answer = local.client.post(
                "/v1/bookings", json=body, headers={"Idempotency-Key": f"k-{patient_id}"}
            )
        else:
            answer = local.client.delete(f"/v1/bookings/{patient_id}")
        return kind, patient_id, answer.status_code

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(run, operations))
    assert {code for kind, _, code in results if kind == "book"} <= {201, 409}
    assert {code for kind, _, code in results if kind == "cancel"} <= {200, 404}
    booked = {p for kind, p, code in results if kind == "book" and code == 201}
    cancelled = {p for kind, p, code in results if kind == "cancel" and code == 200}
    assert cancelled <= booked
    assert len(booked) >= 20 and any(
        code == 409 for _, _, code in results
    )  # the site really was contended
    _, schedule = _published(coordinator)
    assert {a.patient for a in schedule.assignments} == booked - cancelled


def test_a_server_killed_during_a_booking_burst_keeps_every_confirmed_booking(
    server: Server, database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """SIGKILL in the middle of 8 clients booking; after a restart every 201 is there and nothing is half-written."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
    ) as coordinator:
        solve_and_publish(coordinator, booking_site(chairs=4, positions=30))
    bodies = {}
    for index in range(160):
        earliest = HORIZON_START + timedelta(days=index % 14)
        bodies[f"K{index:03d}"] = _booking(
            f"K{index:03d}",
            "H1" if index % 2 else "H2",
            earliest,
            earliest + timedelta(days=3),
            earliest + timedelta(days=index % 4),
        )
    confirmed: set[str] = set()
    answered: set[str] = set()
    lock = threading.Lock()

    def client_loop(ids: list[str]) -> None:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=10
        ) as client:
            for patient_id in ids:
                try:
                    answer = client.post(
                        "/v1/bookings",
                        json=bodies[patient_id],
                        headers={"Idempotency-Key": patient_id},
                    )
                except httpx.TransportError:
                    return  # the server is gone
                with lock:
                    answered.add(patient_id)
                    if answer.status_code == 201:
                        confirmed.add(patient_id)

    ids = sorted(bodies)
    threads = [threading.Thread(target=client_loop, args=(ids[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    while True:
        with lock:
            if len(confirmed) >= 25:
                break
    server.kill()
    for thread in threads:
        thread.join()
    restarted = Server(database_url, tmp_path / "restarted.log").start()
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as coordinator:
            _, schedule = _published(coordinator)
            in_plan = {a.patient for a in schedule.assignments}
            assert confirmed <= in_plan, f"lost confirmed bookings: {sorted(confirmed - in_plan)}"
            for patient_id in sorted(confirmed)[:5]:
                assert coordinator.get(f"/v1/bookings/{patient_id}").status_code == 200
        # Nothing half-written: every booking row has its published entry and the other way round.
        engine = create_db_engine(database_url)
        with session_factory(engine)() as session:
            active = set(
                session.scalars(select(Booking.patient_id).where(Booking.status == "active"))
            )
            entries = set(
                session.scalars(
                    select(PublishedEntry.patient_id).where(PublishedEntry.origin == "booking")
                )
            )
            assert session.scalar(select(func.count()).select_from(Booking)) == len(active)
        engine.dispose()
        assert active == entries == in_plan
        # Clients that never heard back retry with the same key: a booking committed before the kill
        # is replayed as 201, never booked twice.
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
        ) as client:
            for unanswered in sorted(set(ids) - answered)[:8]:
                retry = client.post(
                    "/v1/bookings", json=bodies[unanswered], headers={"Idempotency-Key": unanswered}
                )
                assert retry.status_code in (201, 409)
                if unanswered in in_plan:
                    assert retry.status_code == 201
    finally:
        restarted.stop()
