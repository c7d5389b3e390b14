"""Readiness: whether the database answers."""

from __future__ import annotations

from sqlalchemy import text

from api.store import Store


class HealthService:
    """Checks the service's dependencies."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def database_problem(self) -> str | None:
        """None when the database answers, else what went wrong (the exception's type)."""
        try:
            with self.store.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # the database is down: not ready, and say why
            return type(error).__name__
        return None
