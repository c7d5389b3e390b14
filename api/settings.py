"""The service's settings, read from the environment (pydantic-settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.db import DEFAULT_DATABASE_URL


class Settings(BaseSettings):
    """Where the data lives and the limits of the service.

    `DATABASE_URL` keeps its conventional name; the others take the `CART_SCHEDULER_` prefix.
    """

    # An empty variable counts as unset, as `os.environ.get(...) or default` did.
    model_config = SettingsConfigDict(env_prefix="CART_SCHEDULER_", env_ignore_empty=True)

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        validation_alias=AliasChoices("database_url", "DATABASE_URL"),
        description="SQLAlchemy URL of the service's database",
    )
    solver_workers: int = Field(2, ge=1, description="CP-SAT workers per plan solve")
    broker_url: str | None = Field(
        None,
        validation_alias=AliasChoices("broker_url", "CART_BROKER_URL"),
        description="Celery broker (e.g. amqp://guest:guest@127.0.0.1:5672//); none: solve here",
    )
    solve_queue: str = Field(
        "cart-plans", min_length=1, description="the broker queue plans are sent to"
    )
    max_workbook_bytes: int = Field(
        20_000_000, ge=1, description="the largest planning workbook an upload may be"
    )
    max_json_bytes: int = Field(
        10_000_000, ge=1, description="the largest JSON request body (413 beyond, while streaming)"
    )
    max_upload_bytes: int = Field(
        20_000_000, ge=1, description="the largest multipart upload body (413 beyond)"
    )
    max_patients: int = Field(
        5_000, ge=1, description="patients and in-progress batches of one instance (422 beyond)"
    )
    max_suites: int = Field(500, ge=1, description="suites of one instance (422 beyond)")
    max_operators: int = Field(2_000, ge=1, description="operators of one instance (422 beyond)")
    heavy_requests: int = Field(
        2, ge=1, description="CPU-heavy requests (suggestions, analysis, …) served at once"
    )
    heavy_wait_seconds: float = Field(
        10.0, gt=0, description="how long a heavy request waits for a slot before 503"
    )
    # Uploaded workbooks: read in a child process with these limits (docs/WORKBOOK.md, Uploads).
    workbook_memory_bytes: int = Field(1_000_000_000, ge=50_000_000, description="reader's memory")
    workbook_seconds: float = Field(30.0, gt=0, description="reader's wall-clock time")
    workbook_max_members: int = Field(200, ge=1, description="files inside the zip")
    workbook_max_member_bytes: int = Field(50_000_000, ge=1, description="one member, unpacked")
    workbook_max_total_bytes: int = Field(100_000_000, ge=1, description="all members, unpacked")
    workbook_max_ratio: int = Field(100, ge=1, description="unpacked/packed of a large member")
    workbook_ratio_from_bytes: int = Field(1_000_000, ge=0, description="'large' for the ratio")
    workbook_max_rows: int = Field(20_000, ge=1, description="rows per sheet")
    workbook_max_columns: int = Field(1_000, ge=1, description="columns per sheet")
    max_simulation_runs: int = Field(
        500, ge=1, description="runs one simulation request may ask for (422 beyond)"
    )
    max_active_simulations: int = Field(
        10, ge=1, description="simulations queued or running at once (409 beyond)"
    )
    auth_failures_per_minute: int = Field(
        30, ge=1, description="failed authentications per client and minute before 429"
    )


def database_url_from_env(explicit: str | None = None) -> str:
    """The database URL: explicit, else `DATABASE_URL`, else an SQLite file in the working directory."""
    return explicit or Settings().database_url
