"""The coordinators' web page: a small static front end over this API."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent.parent / "static"
_PLOTLY_SPEC = importlib.util.find_spec("plotly")
assert _PLOTLY_SPEC is not None and _PLOTLY_SPEC.origin is not None  # a declared dependency
PLOTLY_JS = Path(_PLOTLY_SPEC.origin).parent / "package_data" / "plotly.min.js"

router = APIRouter(include_in_schema=False)

# Scripts only from this server, never inline; plotly sets inline styles on its figures.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@router.get("/")
def index() -> FileResponse:
    """The coordinators' page (a small static front end over this API)."""
    return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)


@router.get("/static/plotly.min.js")
def plotly_js() -> FileResponse:
    """plotly.js from the installed plotly package: nothing is fetched from the internet."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript")
