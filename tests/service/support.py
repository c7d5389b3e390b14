"""Helpers of the service tests: a small site to book into, and the real server in a child process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from api.db import create_db_engine, migrate
from api.service import create_key

HORIZON_START = date(2027, 1, 4)  # a Monday
HORIZON_DAYS = 28
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]


def booking_site(
    *,
    name: str = "booking-site",
    chairs: int = 2,
    positions: int = 60,
    operators: int = 10,
    qc_capacity: int = 100,
    patients: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A four-week site whose only tight resource is what the test asks for (chairs, positions …).

    One product: 48 h of manufacturing, one 1-hour activation step by one aseptic operator on
    day 0, one 3-day sterility assay sampled on day 2; hospitals H1 and H2 collect Mon–Fri.
    """
    days = [HORIZON_START + timedelta(days=i) for i in range(HORIZON_DAYS)]
    return {
        "format": "cart-schedule-instance/1",
        "name": name,
        "site": {
            "id": "TEST",
            "timezone": "Europe/Brussels",
            "shifts": [{"id": "D", "start": "08:00", "hours": 8}],
        },
        "horizon": {"start": HORIZON_START.isoformat(), "days": HORIZON_DAYS},
        "products": [
            {
                "id": "tiny-cel",
                "fresh_shelf_life_hours": 72,
                "receipt_hours": 4,
                "manufacturing_hours": 48,
                "changeover_hours": 24,
                "suite_types": ["isolator"],
                "steps": [
                    {
                        "id": "activation",
                        "day_offset": 0,
                        "hours": 1,
                        "operators": 1,
                        "skill": "aseptic",
                    }
                ],
                "qc_assays": [
                    {
                        "id": "sterility",
                        "sample_day_offset": 2,
                        "duration_days": 3,
                        "max_wait_days": 2,
                    }
                ],
                "qp_release_days": 1,
            }
        ],
        "suites": [{"id": "S1", "type": "isolator", "positions": positions}],
        "operators": [
            {
                "id": f"OP{i + 1}",
                "skills": ["aseptic"],
                "roster": [{"date": d.isoformat(), "shift": "D"} for d in days],
            }
            for i in range(operators)
        ],
        "qc_lab": {
            "working_days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            "capacity": {"sterility": qc_capacity},
        },
        "hospitals": [
            {
                "id": hospital,
                "name": f"Hospital {hospital}",
                "transit_hours": 2,
                "collection_end": "13:00",
                "return_transit_days": 1,
                "apheresis_capacity": dict.fromkeys(WEEKDAYS, chairs),
            }
            for hospital in ("H1", "H2")
        ],
        "patients": patients or [],
    }


def new_patient(hospital: str, earliest: date, latest: date, **extra: Any) -> dict[str, Any]:
    """An order-system patient (no id) of the booking site's product, infusion window open to the horizon end."""
    return {
        "hospital": hospital,
        "product": "tiny-cel",
        "weight": 1,
        "material": "fresh",
        "apheresis_window": {"earliest": earliest.isoformat(), "latest": latest.isoformat()},
        "infusion_window": {"earliest": earliest.isoformat()},
        **extra,
    }


# The OpenAPI tags of the operations an order-system key may call (api/deps.py: OrderSystemCaller,
# ReaderCaller): which dates to offer, book, cancel; the published versions it booked against.
ORDER_SYSTEM_TAGS = frozenset({"bookings", "published versions"})


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`cart-schedule serve` in a child process, over real HTTP on loopback."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *extra_args: str,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.extra_args = extra_args
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Server:
        """Start and wait until /readyz answers."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cli",
                "serve",
                "--port",
                str(self.port),
                "--database-url",
                self.database_url,
                "--solver-workers",
                "1",
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"} | self.env,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log_path.read_text()[-2000:]}"
                )
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError("server did not become ready in 60 s")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """Kill without warning (SIGKILL): no shutdown code runs."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()


def make_keys(database_url: str) -> dict[str, str]:
    """A coordinator key and an order-system key."""
    engine = create_db_engine(database_url)
    migrate(engine)
    keys = {
        "coordinator": create_key(engine, "coordinator-anna", "coordinator"),
        "order-system": create_key(engine, "order-system-1", "order-system"),
    }
    engine.dispose()
    return keys


PUBLISH_REASON = {"reason": "weekly plan reviewed by the coordinator"}


def solve_and_publish(
    client: httpx.Client,
    instance: dict[str, Any],
    time_limit: float = 20,
    reason: str = PUBLISH_REASON["reason"],
) -> str:
    """Submit a plan, wait until it is solved, publish it (with a reason); the plan id."""
    answer = client.post("/v1/plans", json=instance, params={"time_limit": time_limit})
    assert answer.status_code == 202, answer.text
    plan_id = str(answer.json()["id"])
    wait_for_plan(client, plan_id, {"done"}, timeout=time_limit + 60)
    published = client.post(f"/v1/plans/{plan_id}/publish", json={"reason": reason})
    assert published.status_code == 200, published.text
    return plan_id


def wait_for_plan(
    client: httpx.Client, plan_id: str, statuses: set[str], timeout: float
) -> dict[str, Any]:
    """Poll a plan until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout
    while True:
        plan: dict[str, Any] = client.get(f"/v1/plans/{plan_id}").json()
        if plan["status"] in statuses:
            return plan
        assert plan["status"] not in {"failed"} - statuses, plan
        assert time.monotonic() < deadline, f"plan still {plan['status']} after {timeout} s"
        time.sleep(0.1)
