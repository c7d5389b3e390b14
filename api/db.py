"""The service's database: tables, engine set-up and migrations (SQLite by default, PostgreSQL supported)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    Date,
    Dialect,
    Engine,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker
from sqlalchemy.types import DateTime, TypeDecorator

DEFAULT_DATABASE_URL = "sqlite:///cart-scheduler.db"
MIGRATIONS = Path(__file__).parent / "migrations"


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC instant, stored without zone so SQLite and PostgreSQL compare alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The instant as naive UTC, for the database."""
        return None if value is None else value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored naive UTC instant as an aware one."""
        return None if value is None else value.replace(tzinfo=UTC)


def utc_now() -> datetime:
    """Now, as an aware UTC instant."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class ApiKey(Base):
    """A client's key: only its SHA-256 is stored; the key itself is shown once at creation."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # The hospitals an order-system key books for; None: every hospital.
    hospitals: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)


class Plan(Base):
    """A submitted weekly plan and its solve job."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(
        String(20), index=True
    )  # queued|solving|cancelling|done|failed|cancelled
    time_limit: Mapped[float]
    instance_json: Mapped[str] = mapped_column(Text)
    schedule_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    progress: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True
    )  # best objective and bound so far
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[str | None] = mapped_column(
        String(32), nullable=True
    )  # the plan a what-if scenario varies
    scenario: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, nullable=True
    )  # the changes it applies
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    # Who is solving it, until when: kept alive by a heartbeat, taken over only once expired.
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Simulation(Base):
    """A disruption simulation of a solved plan (`cart-schedule-simulation/1`) and its run job."""

    __tablename__ = "simulations"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    plan_id: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(
        String(20), index=True
    )  # queued|running|cancelling|done|failed|cancelled
    runs: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(Integer)
    policy: Mapped[str] = mapped_column(String(20))
    # The request as checked: rates, time limits, references (the SimulationConfig's JSON form).
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # runs done
    report_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The runs played so far, kept when the simulation steps aside for a queued plan (resumed).
    partial_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What availability needs, computed once when the simulation ends (api.services.promises).
    promise: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    lease_owner: Mapped[str | None] = mapped_column(String(200), nullable=True)
    lease_expires: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class Published(Base):
    """The site's published plan (one row): the state availability and bookings work against."""

    __tablename__ = "published"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    version: Mapped[int]  # bumped by every change; the lock bookings serialise on
    published_version: Mapped[
        int
    ]  # the version right after publishing: unchanged since then if equal
    instance_json: Mapped[str] = mapped_column(
        Text
    )  # the plan's instance without patients and in-progress
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PublishedEntry(Base):
    """One patient or in-progress batch of the published plan, with its assignment or reasons."""

    __tablename__ = "published_entries"
    patient_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # patient|in_progress
    origin: Mapped[str] = mapped_column(String(20))  # plan|booking
    ordinal: Mapped[int] = mapped_column(Integer)  # keeps the plan's order
    entry_json: Mapped[str] = mapped_column(Text)  # the instance's patient or in-progress entry
    assignment_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    reasons: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)  # when unscheduled


class Booking(Base):
    """A booking made by the order system (kept after cancellation, for the record)."""

    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(100), index=True)
    apheresis_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # active|cancelled
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class IdempotentResponse(Base):
    """The answer given to one Idempotency-Key of one client, replayed on a retry."""

    __tablename__ = "idempotent_responses"
    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """One change, appended and never edited."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(100))  # the key's name, never the key
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(100))
    before: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    after: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    # Why, for a change that undoes something (a revoke, a cancellation) or signs (a publish).
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # The chain: SHA-256 of the previous entry, and of this entry's content with that link.
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class PublishedVersion(Base):
    """One publication of a plan, as published: appended and never edited (like the audit trail)."""

    __tablename__ = "published_versions"
    n: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    plan_id: Mapped[str] = mapped_column(String(32))
    instance_json: Mapped[str] = mapped_column(Text)
    schedule_json: Mapped[str] = mapped_column(Text)
    published_by: Mapped[str] = mapped_column(String(100))  # the key's name
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text)
    meaning: Mapped[str] = mapped_column(Text)


def normalise_url(url: str) -> str:
    """Use the psycopg 3 driver for plain PostgreSQL URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def resolved_url(url: str) -> str:
    """The URL with a relative SQLite path made absolute, so the file in use is never in doubt."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        path, _, query = url[len(prefix) :].partition("?")
        return prefix + str(Path(path).resolve()) + (f"?{query}" if query else "")
    return url


def create_db_engine(url: str) -> Engine:
    """An engine for the URL; SQLite files get WAL, full fsync and a generous busy timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            # A confirmed booking must survive a crash: fsync at every commit.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def session_factory(engine: Engine) -> sessionmaker[Any]:
    """Sessions whose objects stay readable after commit."""
    return sessionmaker(engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Bring the database schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
