"""What a request carries into the code it runs: its id, for logs and audit entries."""

from __future__ import annotations

from contextvars import ContextVar

# Copied into the worker thread of a sync route, so services see the id of their request.
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being served here, if any."""
    return request_id_var.get()
