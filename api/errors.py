"""Client-visible refusals of the service: an HTTP status, a message and every problem with its path."""

from __future__ import annotations

from typing import Any

from models import Problem


class ServiceError(Exception):
    """A client-visible refusal: HTTP status, a message and, for bad input, every problem with its path."""

    status_code = 400

    def __init__(
        self,
        detail: str,
        problems: list[Problem] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail, self.problems, self.extra = detail, problems or [], extra or {}

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        body: dict[str, Any] = {"detail": self.detail}
        if self.problems:
            body["problems"] = [{"path": p.path, "message": p.message} for p in self.problems]
        return body | self.extra


class Forbidden(ServiceError):
    """The key may not act for this (e.g. another hospital's patient)."""

    status_code = 403


class NotFound(ServiceError):
    """An unknown id."""

    status_code = 404


class Conflict(ServiceError):
    """The request is well-formed but the site's state does not allow it."""

    status_code = 409


class Unprocessable(ServiceError):
    """Bad input: every problem, with its JSON path."""

    status_code = 422
