"""Fixtures of the service tests: each test gets a fresh database, SQLite file or PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.service.support import Server, make_keys

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new empty database: an SQLite file, or a fresh PostgreSQL database on 127.0.0.1:5432."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    name = f"cart_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def keys(database_url: str) -> dict[str, str]:
    """One key per role."""
    return make_keys(database_url)


@pytest.fixture
def server(database_url: str, keys: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    """The service, running."""
    running = Server(database_url, tmp_path / "server.log").start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def coordinator(server: Server, keys: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client with the coordinator's key."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=30
    ) as client:
        yield client


@pytest.fixture
def order_system(server: Server, keys: dict[str, str]) -> Iterator[httpx.Client]:
    """An HTTP client with the order system's key."""
    with httpx.Client(
        base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=30
    ) as client:
        yield client
