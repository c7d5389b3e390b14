"""Who may call what: keys by role, shown once, stored hashed; health checks are open."""

from __future__ import annotations

import subprocess
import sys

import httpx
from sqlalchemy import select

from api.db import ApiKey, create_db_engine, session_factory
from tests.service.support import ORDER_SYSTEM_TAGS, Server


def test_health_checks_need_no_key(server: Server) -> None:
    """A load balancer probes /healthz and /readyz without credentials."""
    assert httpx.get(server.url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(server.url + "/readyz").json() == {"status": "ready"}


def test_a_missing_or_unknown_key_is_401(server: Server) -> None:
    """No key, or a key nobody was given, gets 401 on every /v1 endpoint."""
    assert httpx.get(server.url + "/v1/plans").status_code == 401
    assert (
        httpx.get(server.url + "/v1/plans", headers={"X-API-Key": "cs_made-up"}).status_code == 401
    )
    assert (
        httpx.post(server.url + "/v1/availability", json={}, headers={"X-API-Key": ""}).status_code
        == 401
    )


def test_each_role_is_kept_to_its_endpoints(
    server: Server, coordinator: httpx.Client, order_system: httpx.Client
) -> None:
    """The order system may not plan or publish or read the audit; a coordinator may not book or cancel bookings."""
    assert order_system.get("/v1/plans").status_code == 403
    assert order_system.post("/v1/plans", json={}).status_code == 403
    assert order_system.get("/v1/audit").status_code == 403
    assert order_system.get("/v1/published").status_code == 403
    assert (
        coordinator.post("/v1/bookings", json={}, headers={"Idempotency-Key": "k"}).status_code
        == 403
    )
    assert coordinator.delete("/v1/bookings/P1").status_code == 403
    assert coordinator.get("/v1/plans").status_code == 200


def test_an_order_system_key_is_refused_every_operation_but_the_bookings(
    server: Server, order_system: httpx.Client
) -> None:
    """Every /v1 operation the OpenAPI document lists outside the order system's tags answers it
    403, whatever its body; the fuzzer (test_openapi) runs that key on those tags only."""
    document = httpx.get(server.url + "/openapi.json").json()
    refused, allowed = [], []
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        url = path.replace("{", "").replace("}", "")  # every path parameter named after itself
        for method, operation in operations.items():
            answer = order_system.request(method, url, json={"not": "a body"})
            if ORDER_SYSTEM_TAGS & set(operation.get("tags", [])):
                allowed.append(answer.status_code)
            elif answer.status_code != 403:
                refused.append(f"{method.upper()} {path}: {answer.status_code}")
    assert refused == []
    assert len(allowed) == 6 and 403 not in allowed


def test_keys_are_printed_once_and_stored_hashed(database_url: str, server: Server) -> None:
    """`cart-schedule keys create` prints a key that works; the database holds only its SHA-256; a revoked key is refused."""
    create = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "keys",
            "create",
            "--role",
            "coordinator",
            "--name",
            "bert",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    key = create.stdout.strip()
    assert key.startswith("cs_") and len(key) > 40
    assert httpx.get(server.url + "/v1/plans", headers={"X-API-Key": key}).status_code == 200
    engine = create_db_engine(database_url)
    with session_factory(engine)() as session:
        stored = session.scalars(select(ApiKey.key_hash)).all()
    engine.dispose()
    assert key not in stored and all(len(h) == 64 for h in stored)
    again = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "keys",
            "create",
            "--role",
            "coordinator",
            "--name",
            "bert",
            "--database-url",
            database_url,
        ],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "keys",
            "revoke",
            "bert",
            "--reason",
            "left the team",
            "--database-url",
            database_url,
        ],
        check=True,
        capture_output=True,
    )
    assert httpx.get(server.url + "/v1/plans", headers={"X-API-Key": key}).status_code == 401
