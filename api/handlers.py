"""How errors become answers: a client's mistake is a 4xx with every problem, never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.errors import ServiceError
from models import InputError
from models.io import json_path

log = logging.getLogger("cart_scheduler.api")


async def _service_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ServiceError)
    return JSONResponse(error.body(), status_code=error.status_code)


async def _input_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, InputError)
    problems = [
        {
            "path": "body" + ("." + p.path if p.path and not p.path.startswith("[") else p.path),
            "message": p.message,
        }
        for p in error.problems
    ]
    return JSONResponse(
        {"detail": "the document has problems", "problems": problems}, status_code=422
    )


async def _validation_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"path": json_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
        for e in error.errors()
    ]
    return JSONResponse(
        {"detail": "the request has problems", "problems": problems}, status_code=422
    )


async def _http_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    if error.status_code == 400:  # a body that is not even text (bad bytes) is malformed JSON too
        return JSONResponse(
            {
                "detail": "the request has problems",
                "problems": [{"path": "body", "message": str(error.detail)}],
            },
            status_code=422,
        )
    return JSONResponse(
        {"detail": error.detail}, status_code=error.status_code, headers=error.headers
    )


async def _unstorable(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, DataError)
    # e.g. a NUL character in an id: PostgreSQL cannot store or compare it; the client's value is at fault
    return JSONResponse(
        {
            "detail": "a value in the request cannot be stored or looked up (control characters?)",
            "problems": [{"path": "", "message": str(error.orig).splitlines()[0]}],
        },
        status_code=422,
    )


async def _database_down(_request: Request, error: Exception) -> JSONResponse:
    log.error("database unavailable: %s", str(error).splitlines()[0])
    return JSONResponse(
        {"detail": "the database is unavailable; try again shortly"},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=error)
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as JSON: refusals with their status, bad input as 422, the rest as 500."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _unstorable)
    app.add_exception_handler(OperationalError, _database_down)
    app.add_exception_handler(Exception, _unexpected)
