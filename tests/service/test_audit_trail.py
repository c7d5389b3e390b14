"""The audit trail over real HTTP, on SQLite and PostgreSQL: append-only in the database, hash-chained,
verified by `cart-schedule audit verify`, reasons for what undoes something, signed publications kept
as versions, CSV for an inspector."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
from datetime import timedelta

import httpx
import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from api.db import MIGRATIONS, AuditEntry, create_db_engine, migrate, utc_now
from api.service import create_key
from api.services.audit import GENESIS, entry_hash, verify_chain
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
    wait_for_plan,
)


def _engine(database_url: str) -> Engine:
    return create_db_engine(database_url)


def _drop_triggers(engine: Engine) -> None:
    """What an attacker with database rights would do first."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP TRIGGER audit_append_only ON audit")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_no_delete")


def _verify(database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", "audit", "verify", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args, "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _trail(coordinator: httpx.Client) -> list[dict[str, object]]:
    answer = coordinator.get("/v1/audit")
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, object]] = answer.json()
    return entries


def _solved(coordinator: httpx.Client, instance: dict[str, object]) -> str:
    answer = coordinator.post("/v1/plans", json=instance, params={"time_limit": 20})
    assert answer.status_code == 202, answer.text
    plan_id = str(answer.json()["id"])
    wait_for_plan(coordinator, plan_id, {"done"}, timeout=90)
    return plan_id


def test_the_database_refuses_update_and_delete_on_the_audit_trail(
    database_url: str, keys: dict[str, str]
) -> None:
    """Triggers, not the API, keep the trail append-only: UPDATE and DELETE fail, nothing changes."""
    engine = _engine(database_url)
    try:
        for statement in (
            "UPDATE audit SET actor = 'someone else'",
            "UPDATE audit SET reason = 'afterthought' WHERE id = 1",
            "DELETE FROM audit",
            "DELETE FROM audit WHERE id = 2",
        ):
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
                connection.exec_driver_sql("TRUNCATE audit")
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT actor, action FROM audit ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("cli", "key.created"), ("cli", "key.created")]
        assert verify_chain(engine).whole
    finally:
        engine.dispose()


def test_audit_verify_exits_0_on_an_intact_trail_and_1_naming_the_tampered_entry(
    database_url: str, keys: dict[str, str]
) -> None:
    """`cart-schedule audit verify` walks the chain; an edit (even with its own hash redone) or a removal is named."""
    engine = _engine(database_url)
    try:
        create_key(engine, "third", "order-system", ["H1"])
        create_key(engine, "fourth", "coordinator")
        intact = _verify(database_url)
        assert intact.returncode == 0, intact.stdout + intact.stderr
        assert "4 entries" in intact.stdout

        _drop_triggers(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE audit SET entity_id = 'mallory' WHERE id = 3")
        broken = _verify(database_url)
        assert broken.returncode == 1
        assert "entry id 3" in broken.stdout and "key.created" in broken.stdout
        assert "does not match its content" in broken.stdout

        # Re-computing the edited entry's own hash moves the break to the next entry's link.
        with engine.begin() as connection:
            row = connection.execute(text("SELECT * FROM audit WHERE id = 3")).mappings().one()
        check = verify_chain(engine)
        assert check.broken_id == 3
        forged = entry_hash(
            prev_hash=row["prev_hash"],
            at=check.broken_at or utc_now(),
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id="mallory",
            before=None,
            after=_after_of(engine, 3),
            reason=None,
            request_id=None,
        )
        with engine.begin() as connection:
            connection.execute(text("UPDATE audit SET hash = :h WHERE id = 3"), {"h": forged})
        relinked = _verify(database_url)
        assert relinked.returncode == 1
        assert "entry id 4" in relinked.stdout and "link" in relinked.stdout

        # Removing an entry breaks its successor's link.
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM audit WHERE id = 2")
        removed = verify_chain(engine)
        assert removed.broken_id == 3 and removed.count == 1
        assert removed.problem is not None and "link" in removed.problem
    finally:
        engine.dispose()


def _after_of(engine: Engine, entry_id: int) -> object:
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        entry = session.get(AuditEntry, entry_id)
        assert entry is not None
        return entry.after


def test_concurrent_appends_never_chain_onto_the_same_entry(database_url: str) -> None:
    """Eight writers at once (threads, separate connections): one chain, no fork, nothing lost."""
    engine = _engine(database_url)
    migrate(engine)
    errors: list[BaseException] = []

    def make(i: int) -> None:
        try:
            for j in range(3):
                create_key(engine, f"writer-{i}-{j}", "coordinator")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=make, args=(i,)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        check = verify_chain(engine)
        assert check.whole and check.count == 24
        with engine.connect() as connection:
            links = connection.execute(text("SELECT prev_hash FROM audit")).scalars().all()
        assert len(set(links)) == 24  # every entry has its own predecessor
    finally:
        engine.dispose()


def test_entries_written_before_the_chain_are_chained_by_the_migration(database_url: str) -> None:
    """A database at revision 0003 with a trail: upgrading chains it oldest first, then refuses edits."""
    engine = _engine(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003")
        with engine.begin() as connection:
            for i in range(3):
                # As the service wrote them before revision 0004: no reason, request id or hashes.
                connection.execute(
                    text(
                        "INSERT INTO audit (at, actor, action, entity, entity_id, before, after) "
                        "VALUES (:at, 'coordinator-anna', 'plan.submitted', 'plan', :id, NULL, :after)"
                    ),
                    {
                        "at": utc_now().replace(tzinfo=None),
                        "id": f"plan-{i}",
                        "after": f'{{"name": "week {i}", "patients": {i}}}',
                    },
                )
        migrate(engine)
        check = verify_chain(engine)
        assert check.whole and check.count == 3
        with engine.connect() as connection:
            first = connection.execute(text("SELECT prev_hash FROM audit WHERE id = 1")).scalar()
        assert first == GENESIS
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM audit")
    finally:
        engine.dispose()


def test_publishing_needs_a_reason_and_every_publication_is_kept_as_a_version(
    coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """No reason: 422. Each publish signs (key, time, meaning, reason) and adds a version; earlier ones stay as they were."""
    first_plan = _solved(coordinator, booking_site())
    publish = f"/v1/plans/{first_plan}/publish"
    assert coordinator.post(publish).status_code == 422
    assert coordinator.post(publish, json={}).status_code == 422
    assert coordinator.post(publish, json={"meaning": "approved"}).status_code == 422
    assert coordinator.post(publish, json={"reason": ""}).status_code == 422
    assert coordinator.post(publish, json={"reason": "x" * 501}).status_code == 422
    assert coordinator.post(publish, json={"reason": "ok", "meaning": ""}).status_code == 422
    assert coordinator.get("/v1/published").status_code == 404  # nothing was published
    assert coordinator.get("/v1/published/versions").json() == []

    answer = coordinator.post(publish, json={"reason": "week 1 reviewed"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["n"] == 1
    [listed] = coordinator.get("/v1/published/versions").json()
    assert listed["n"] == 1 and listed["plan_id"] == first_plan
    assert listed["published_by"] == "coordinator-anna"
    assert listed["reason"] == "week 1 reviewed" and listed["meaning"] == "approved for production"
    first = coordinator.get("/v1/published/versions/1").json()
    assert first["instance"]["name"] == "booking-site"
    assert first["schedule"]["format"] == "cart-schedule/1"

    second_plan = _solved(coordinator, booking_site(name="week-2", chairs=3))
    second_answer = coordinator.post(
        f"/v1/plans/{second_plan}/publish",
        json={"reason": "chairs added at H1 and H2", "meaning": "approved for production by QA"},
    )
    assert second_answer.status_code == 200 and second_answer.json()["n"] == 2
    versions = coordinator.get("/v1/published/versions").json()
    assert [(v["n"], v["plan_id"], v["meaning"]) for v in versions] == [
        (1, first_plan, "approved for production"),
        (2, second_plan, "approved for production by QA"),
    ]
    assert coordinator.get("/v1/published/versions/1").json() == first  # never overwritten
    second = coordinator.get("/v1/published/versions/2").json()
    assert (
        second["instance"]["name"] == "week-2" and second["reason"] == "chairs added at H1 and H2"
    )
    assert coordinator.get("/v1/published").json()["plan_id"] == second_plan
    # The order system reads the versions too; unknown numbers are 404.
    assert order_system.get("/v1/published/versions").json() == versions
    assert order_system.get("/v1/published/versions/2").status_code == 200
    assert coordinator.get("/v1/published/versions/3").status_code == 404

    signed = [e for e in _trail(coordinator) if e["action"] == "plan.published"]
    assert [e["reason"] for e in signed] == ["week 1 reviewed", "chairs added at H1 and H2"]
    after = signed[1]["after"]
    assert isinstance(after, dict)
    assert after["published_version"] == 2
    assert after["signature"]["key"] == "coordinator-anna"
    assert after["signature"]["meaning"] == "approved for production by QA"
    assert after["signature"]["reason"] == "chairs added at H1 and H2"
    assert after["signature"]["at"] == versions[1]["published_at"]
    assert signed[1]["before"] == {"plan_id": first_plan, "version": 1}


def test_key_creation_and_revocation_are_in_the_trail_with_who_and_why(
    database_url: str, server: Server, coordinator: httpx.Client
) -> None:
    """`keys create` and `keys revoke --reason` are audited (actor: cli and the OS user); no reason, no revoke."""
    created = _cli(database_url, "keys", "create", "--role", "coordinator", "--name", "carla")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    no_reason = _cli(database_url, "keys", "revoke", "carla")
    assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
    assert httpx.get(server.url + "/v1/plans", headers={"X-API-Key": key}).status_code == 200
    revoked = _cli(database_url, "keys", "revoke", "carla", "--reason", "left the site on 1 March")
    assert revoked.returncode == 0, revoked.stderr
    assert httpx.get(server.url + "/v1/plans", headers={"X-API-Key": key}).status_code == 401
    again = _cli(database_url, "keys", "revoke", "carla", "--reason", "twice")
    assert again.returncode == 2 and "no active key" in again.stderr

    trail = [e for e in _trail(coordinator) if e["entity"] == "api_key"]
    assert [(e["action"], e["entity_id"]) for e in trail] == [
        ("key.created", "coordinator-anna"),
        ("key.created", "order-system-1"),
        ("key.created", "carla"),
        ("key.revoked", "carla"),
    ]
    made, gone = trail[2], trail[3]
    assert str(made["actor"]).startswith("cli:") and gone["actor"] == made["actor"]
    assert made["before"] is None
    assert isinstance(made["after"], dict) and made["after"]["role"] == "coordinator"
    assert gone["reason"] == "left the site on 1 March"
    assert isinstance(gone["before"], dict) and gone["before"]["revoked_at"] is None
    assert isinstance(gone["after"], dict) and gone["after"]["revoked_at"] is not None
    assert key not in str(trail)  # never the key
    assert _verify(database_url).returncode == 0


def test_a_booking_cancellation_is_recorded_with_its_reason_and_request_id(
    coordinator: httpx.Client, order_system: httpx.Client, database_url: str
) -> None:
    """DELETE /v1/bookings/{id}?reason=…: the reason (at most 500 characters) and the request id are in the entry."""
    solve_and_publish(coordinator, booking_site())
    wednesday = HORIZON_START + timedelta(days=2)
    for patient in ("A", "B"):
        booked = order_system.post(
            "/v1/bookings",
            json=new_patient(
                "H1", wednesday, wednesday, id=patient, apheresis_date=wednesday.isoformat()
            ),
            headers={"Idempotency-Key": f"book-{patient}"},
        )
        assert booked.status_code == 201, booked.text
    too_long = order_system.delete("/v1/bookings/A", params={"reason": "x" * 501})
    assert too_long.status_code == 422
    assert order_system.get("/v1/bookings/A").status_code == 200  # nothing cancelled
    cancelled = order_system.delete(
        "/v1/bookings/A",
        params={"reason": "patient withdrew consent"},
        headers={"X-Request-ID": "cancel-A-0001"},
    )
    assert cancelled.status_code == 200, cancelled.text
    assert order_system.delete("/v1/bookings/B").status_code == 200  # the reason is optional

    entries = [e for e in _trail(coordinator) if e["action"] == "booking.cancelled"]
    assert [(e["entity_id"], e["reason"]) for e in entries] == [
        ("A", "patient withdrew consent"),
        ("B", None),
    ]
    assert entries[0]["actor"] == "order-system-1"
    assert entries[0]["request_id"] == cancelled.headers["X-Request-ID"]
    before = entries[0]["before"]
    assert isinstance(before, dict) and before["apheresis_date"] == wednesday.isoformat()
    assert entries[0]["after"] is None
    engine = _engine(database_url)
    try:
        assert verify_chain(engine).whole
    finally:
        engine.dispose()


def test_the_trail_exports_as_csv_for_an_inspector(coordinator: httpx.Client) -> None:
    """`format=csv`: text/csv, one row per entry with the same ids, hashes and JSON before/after."""
    solve_and_publish(coordinator, booking_site())
    entries = _trail(coordinator)
    answer = coordinator.get("/v1/audit", params={"format": "csv"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [int(r["id"]) for r in rows] == [e["id"] for e in entries]
    assert list(rows[0]) == [
        "id",
        "at",
        "actor",
        "action",
        "entity",
        "entity_id",
        "before",
        "after",
        "reason",
        "request_id",
        "prev_hash",
        "hash",
    ]
    for row, entry in zip(rows, entries, strict=True):
        assert row["hash"] == entry["hash"] and row["prev_hash"] == entry["prev_hash"]
        assert row["action"] == entry["action"] and row["at"] == entry["at"]
        assert (json.loads(row["after"]) if row["after"] else None) == entry["after"]
    assert rows[0]["prev_hash"] == GENESIS
    assert rows[-1]["action"] == "plan.published" and rows[-1]["reason"]
    since = coordinator.get("/v1/audit", params={"format": "csv", "since": entries[-1]["at"]})
    assert len(list(csv.DictReader(io.StringIO(since.text)))) == 1
    assert coordinator.get("/v1/audit", params={"format": "xml"}).status_code == 422


def test_bookings_written_together_keep_each_their_own_request_id(
    server: Server, coordinator: httpx.Client, keys: dict[str, str]
) -> None:
    """Twelve bookings at once share group commits; each audit entry names its own request."""
    solve_and_publish(coordinator, booking_site(chairs=12))
    day = HORIZON_START + timedelta(days=2)
    start = threading.Barrier(12)

    def book(index: int) -> None:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
        ) as client:
            start.wait()
            answer = client.post(
                "/v1/bookings",
                json=new_patient("H1", day, day, id=f"G{index}", apheresis_date=day.isoformat()),
                headers={"Idempotency-Key": f"g{index}", "X-Request-ID": f"req-{index}"},
            )
            assert answer.status_code == 201, answer.text

    threads = [threading.Thread(target=book, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    made = {
        e["entity_id"]: e["request_id"]
        for e in coordinator.get("/v1/audit").json()
        if e["action"] == "booking.made"
    }
    assert made == {f"G{i}": f"req-{i}" for i in range(12)}
