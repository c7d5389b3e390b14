"""The error answers routes declare in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from api.schemas import ErrorOut

DESCRIBED = {
    401: "no valid X-API-Key",
    403: "the key's role may not do this",
    404: "unknown id",
    409: "the site's state does not allow it",
    422: "bad input: every problem with its JSON path",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the given error statuses, each an `ErrorOut`."""
    return {code: {"model": ErrorOut, "description": DESCRIBED[code]} for code in codes}
