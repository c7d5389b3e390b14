"""The gate every request passes before any route: request id, key, throttle, body cap, heavy-work cap.

FastAPI reads and parses a body before it resolves the dependencies that check the key, so
the checks that must come before any work live here, in one pure ASGI middleware:

1. every request gets an id (`X-Request-ID`, the client's when it is a sane token), echoed in
   the answer and carried into logs and audit entries;
2. `/v1/` needs a valid key, looked up from the header alone: without one the answer is 401
   at once and not one byte of the body is read;
3. a client that keeps failing authentication is slowed: 429 until its minute has passed,
   logged once per burst;
4. bodies are capped while they stream (JSON and uploads have their own limits): 413 when
   `Content-Length` says so, or as soon as the bytes read pass the limit;
5. CPU-heavy requests (suggestions, analysis, comparison, workbook checks) wait for one of a
   few slots and get 503 when none frees up in time, so they cannot starve bookings.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

import anyio
from starlette.datastructures import Headers
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.context import request_id_var
from api.services.keys import Caller
from api.settings import Settings

log = logging.getLogger("cart_scheduler.api.gate")

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
HEAVY_PATHS = re.compile(
    r"^/v1/(analyze|workbooks|plans/[^/]+/(suggestions|explain)/[^/]+|plans/[^/]+/compare)$"
)
WINDOW_SECONDS = 60.0


class AuthThrottle:
    """Failed authentications per client over the last minute, for a bounded number of clients."""

    def __init__(self, limit: int, clients: int = 10_000) -> None:
        self.limit = limit
        self.clients = clients
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        while failures and failures[0] <= now - WINDOW_SECONDS:
            failures.popleft()
        while len(self._failures) > self.clients:  # forget the quietest clients first
            self._failures.popitem(last=False)
        return failures

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may try again, or None when it is not slowed."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(client, now)
            if len(failures) < self.limit:
                return None
            return max(1, int(failures[0] + WINDOW_SECONDS - now) + 1)

    def failed(self, client: str) -> bool:
        """Count a failure; True when this one reaches the limit (log it once per burst)."""
        now = time.monotonic()
        with self._lock:
            failures = self._recent(client, now)
            failures.append(now)
            return len(failures) == self.limit


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"


class Gate:
    """The ASGI middleware that does the checks above, in that order."""

    def __init__(
        self, app: ASGIApp, settings: Settings, owner: Callable[[str], Caller | None]
    ) -> None:
        self.app = app
        self.settings = settings
        self.owner = owner
        self.throttle = AuthThrottle(settings.auth_failures_per_minute)
        self.heavy = anyio.CapacityLimiter(settings.heavy_requests)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        given = headers.get("x-request-id", "")
        request_id = given if SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            answer = await self._refusal(scope, headers)
            if answer is not None:
                await answer(scope, receive, send_with_id)
                return
            limit = (
                self.settings.max_upload_bytes
                if headers.get("content-type", "").startswith("multipart/")
                else self.settings.max_json_bytes
            )
            capped = RequestBodyLimitMiddleware(self.app, max_body_size=limit)
            if not HEAVY_PATHS.match(scope["path"]):
                await capped(scope, receive, send_with_id)
                return
            with anyio.move_on_after(self.settings.heavy_wait_seconds) as waited:
                await self.heavy.acquire()
            if waited.cancelled_caught:
                busy = _error(
                    503,
                    f"the server is busy with {self.settings.heavy_requests} long requests; "
                    "try again shortly",
                    {"Retry-After": "5"},
                )
                await busy(scope, receive, send_with_id)
                return
            try:
                await capped(scope, receive, send_with_id)
            finally:
                self.heavy.release()
        finally:
            request_id_var.reset(token)

    async def _refusal(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        """The answer given before any work, or None when the request may go on."""
        length = headers.get("content-length", "")
        limit = (
            self.settings.max_upload_bytes
            if headers.get("content-type", "").startswith("multipart/")
            else self.settings.max_json_bytes
        )
        if not scope["path"].startswith("/v1/"):
            return None
        client = (scope.get("client") or ("unknown", 0))[0]
        retry_after = self.throttle.retry_after(client)
        if retry_after is not None:
            return _error(
                429,
                "too many failed authentications from this client; wait before trying again",
                {"Retry-After": str(retry_after)},
            )
        key = headers.get("x-api-key")
        caller = await anyio.to_thread.run_sync(self.owner, key) if key else None
        if caller is None:
            if self.throttle.failed(client):
                log.warning(
                    "client %s failed authentication %d times in a minute: slowed",
                    client,
                    self.settings.auth_failures_per_minute,
                    extra={"client": client, "event": "auth.throttled"},
                )
            return _error(401, "a valid X-API-Key header is required")
        scope["state"]["caller"] = caller
        if length.isdigit() and int(length) > limit:
            return _error(
                413, f"the request body of {_megabytes(int(length))} exceeds {_megabytes(limit)}"
            )
        return None


def caller_of(scope_state: Any) -> Caller | None:
    """The caller the gate admitted (None when the gate did not run, as in direct calls)."""
    caller = getattr(scope_state, "caller", None)
    return caller if isinstance(caller, Caller) else None
