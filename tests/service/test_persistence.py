"""What survives a restart, and the schema the migrations build."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import httpx
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from api.db import Base, create_db_engine, migrate
from generator import generate_instance
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
    wait_for_plan,
)


def test_the_migrations_build_exactly_the_tables_the_code_uses(database_url: str) -> None:
    """Alembic's head revision matches the SQLAlchemy models; migrating again changes nothing."""
    engine = create_db_engine(database_url)
    migrate(engine)
    migrate(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []


def test_plans_the_published_plan_and_bookings_survive_a_restart(
    server: Server, database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """Stop the server, start it again on the same database: everything is still there."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
    ) as coordinator:
        plan_id = solve_and_publish(coordinator, booking_site())
    wednesday = HORIZON_START + timedelta(days=2)
    booking = new_patient(
        "H1", wednesday, wednesday, id="NEW-1", apheresis_date=wednesday.isoformat()
    )
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
    ) as order_system:
        assert (
            order_system.post(
                "/v1/bookings", json=booking, headers={"Idempotency-Key": "b1"}
            ).status_code
            == 201
        )
    server.stop()
    restarted = Server(database_url, tmp_path / "restarted.log").start()
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as coordinator:
            assert [p["id"] for p in coordinator.get("/v1/plans").json()] == [plan_id]
            published = coordinator.get("/v1/published").json()
            assert published["plan_id"] == plan_id
            assert [a["patient"] for a in published["schedule"]["assignments"]] == ["NEW-1"]
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
        ) as order_system:
            assert order_system.get("/v1/bookings/NEW-1").status_code == 200
            replay = order_system.post(
                "/v1/bookings", json=booking, headers={"Idempotency-Key": "b1"}
            )
            assert replay.status_code == 201  # the idempotency record survived too
    finally:
        restarted.stop()


def test_a_solve_cut_off_by_a_killed_server_runs_again_after_the_restart(
    server: Server, database_url: str, keys: dict[str, str], tmp_path: Path
) -> None:
    """Jobs survive a restart: a plan that was solving when the server was killed is queued
    again once its lease expires (no one renews it) and solved again."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
    ) as coordinator:
        plan_id = coordinator.post(
            "/v1/plans", json=generate_instance("m", 2, "normal"), params={"time_limit": 20}
        ).json()["id"]
        wait_for_plan(coordinator, plan_id, {"solving"}, timeout=60)
    server.kill()
    time.sleep(1.0)  # the orphaned solver notices its server is gone and ends without writing
    restarted = Server(database_url, tmp_path / "restarted.log").start()
    try:
        with httpx.Client(
            base_url=restarted.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as coordinator:
            plan = wait_for_plan(coordinator, plan_id, {"done"}, timeout=120)
            assert plan["result"]["status"] in ("OPTIMAL", "FEASIBLE")
            actions = [e["action"] for e in coordinator.get("/v1/audit").json()]
            assert actions == [
                "key.created",
                "key.created",
                "plan.submitted",
                "plan.started",  # by the killed server
                "plan.requeued",  # by the restarted server, once the lease expired
                "plan.started",
                "plan.solved",
            ]
    finally:
        restarted.stop()
