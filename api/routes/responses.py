"""The error answers routes declare in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorOut

DESCRIBED = {
    401: "no valid X-API-Key",
    403: "the key's role may not do this",
    404: "unknown id",
    409: "the site's state does not allow it",
    413: "the request body is larger than the service accepts",
    422: "bad input: every problem with its JSON path",
    429: "too many failed authentications from this client (see Retry-After)",
    503: "busy with other long requests (see Retry-After)",
}

# What the gate (`api.gate`) may answer on any /v1 operation, before the route runs.
GATE = (401, 413, 429)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each an `ErrorOut`."""
    return {code: {"model": ErrorOut, "description": DESCRIBED[code]} for code in codes}
