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
    max_workbook_bytes: int = Field(
        20_000_000, ge=1, description="the largest planning workbook an upload may be"
    )


def database_url_from_env(explicit: str | None = None) -> str:
    """The database URL: explicit, else `DATABASE_URL`, else an SQLite file in the working directory."""
    return explicit or Settings().database_url
