"""The one solve function of the service (`api.solving.run`) on its own: leases, time limit, one result."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.db import AuditEntry, Plan, create_db_engine, migrate, session_factory, utc_now
from api.solving import leases, run
from models import Schedule, load_instance, load_schedule
from scheduler.search.outcome import SolveOptions
from scheduler.workflows.solve import solve
from tests.service.support import HORIZON_START, booking_site, new_patient
from validator import validate

SITE = booking_site(patients=[new_patient("H1", HORIZON_START, HORIZON_START, id="P1")])


def _queued_plan(tmp_path: Path, time_limit: float) -> tuple[str, str, Any]:
    """A database with one queued plan of the tiny booking site; its URL, the plan id, sessions."""
    url = f"sqlite:///{tmp_path / 'plans.db'}"
    engine = create_db_engine(url)
    migrate(engine)
    sessions = session_factory(engine)
    plan_id = uuid.uuid4().hex
    with sessions() as session, session.begin():
        session.add(
            Plan(
                id=plan_id,
                name="tiny",
                status="queued",
                time_limit=time_limit,
                instance_json=json.dumps(SITE),
                created_by="test",
                created_at=utc_now(),
            )
        )
    return url, plan_id, sessions


def _stored_schedule(sessions: Any, plan_id: str) -> Schedule:
    """The schedule the worker wrote for the plan; the validator must accept it."""
    with sessions() as session:
        plan = session.get(Plan, plan_id)
        assert plan is not None and plan.schedule_json is not None
        schedule = load_schedule(json.loads(plan.schedule_json))
    assert validate(load_instance(SITE), schedule) == []
    return schedule


def _stubborn_solver(stopped: threading.Event) -> Any:
    """A solver that ignores its time limit until told to stop, then returns a real plan."""

    def stubborn(instance: Any, options: SolveOptions) -> Schedule:
        assert options.stop_event is not None
        if options.stop_event.wait(60):
            stopped.set()
        return solve(instance, SolveOptions(time_limit=10, workers=1))

    return stubborn


def test_the_worker_stops_a_solver_that_overruns_its_time_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Time limit 0.5 s, grace 0.5 s: a solver that would run 60 s is stopped after about 1 s,
    and its best plan is kept, valid."""
    url, plan_id, sessions = _queued_plan(tmp_path, time_limit=0.5)
    stopped = threading.Event()
    monkeypatch.setattr(run, "STOP_GRACE_SECONDS", 0.5)
    monkeypatch.setattr(run, "solve", _stubborn_solver(stopped))
    owner = leases.new_owner("test")
    assert leases.claim(sessions, plan_id, owner)
    started = time.monotonic()
    assert run.run_plan(url, plan_id, owner, solver_workers=1) == "done"
    assert stopped.is_set() and time.monotonic() - started < 10
    _stored_schedule(sessions, plan_id)


def test_only_the_lease_holder_writes_the_result(tmp_path: Path) -> None:
    """Two attempts at one plan: the second cannot claim a live lease; after a takeover the
    first attempt's result is not written, and the trail has one `plan.solved`."""
    url, plan_id, sessions = _queued_plan(tmp_path, time_limit=10)
    first, second = leases.new_owner("test"), leases.new_owner("test")
    assert leases.claim(sessions, plan_id, first)
    assert not leases.claim(sessions, plan_id, second)  # live lease: not yours
    with sessions() as session, session.begin():  # the first holder stops renewing ...
        session.get(Plan, plan_id).lease_expires = utc_now()  # type: ignore[union-attr]
    time.sleep(0.01)
    assert leases.claim(sessions, plan_id, second)  # ... and is taken over
    assert run.run_plan(url, plan_id, first, solver_workers=1) == ""  # lost: writes nothing
    assert run.run_plan(url, plan_id, second, solver_workers=1) == "done"
    with sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.entity_id == plan_id).order_by(AuditEntry.id)
        ).all()
    assert actions == ["plan.started", "plan.taken_over", "plan.solved"]
    _stored_schedule(sessions, plan_id)


class _FlakyBroker:
    """Stands in for a Celery app whose broker is down for the first `down` sends."""

    def __init__(self, down: int) -> None:
        self.down = down
        self.sent: list[tuple[str, int]] = []

    def send_task(self, name: str, args: list[str], priority: int, **_options: Any) -> None:
        if self.down > 0:
            self.down -= 1
            raise ConnectionError("broker unreachable")
        self.sent.append((args[0], priority))


def test_a_plan_the_broker_could_not_take_is_sent_again_by_the_sweeper() -> None:
    """The broker is down when a re-plan is stored: the send fails, and the next sweep sends it."""
    from api.dispatch import URGENT
    from api.solving.engine import SendToCelery

    broker = _FlakyBroker(down=1)
    sender = SendToCelery(broker)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        sender("plan-1", URGENT, 30)
    assert sender.undelivered == {"plan-1": (URGENT, 30)}
    assert sender.resend_undelivered() == 1
    assert broker.sent == [("plan-1", URGENT)] and sender.undelivered == {}
