"""The service's gate alone (`api.gate`), over a stand-in app: what it refuses before any route runs."""

from __future__ import annotations

import anyio
import httpx
from starlette.types import Receive, Scope, Send

from api.gate import AuthThrottle, Gate
from api.services.keys import Caller
from api.settings import Settings

KEY = "cs_valid"


def _owner(key: str) -> Caller | None:
    return Caller("orders", "order-system") if key == KEY else None


def test_a_third_long_request_waits_then_gets_503_while_bookings_pass() -> None:
    """Two heavy slots: two suggestions run, the third waits its 0.2 s and is told to retry;
    a booking-path request meanwhile goes straight through."""
    release = anyio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if "suggestions" in scope["path"]:
            await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    settings = Settings(heavy_requests=2, heavy_wait_seconds=0.2)
    gate = Gate(app, settings, _owner)

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=gate)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test", headers={"X-API-Key": KEY}
        ) as client:
            codes: dict[str, int] = {}

            async def call(name: str, path: str) -> None:
                codes[name] = (await client.get(path)).status_code

            async with anyio.create_task_group() as group:
                group.start_soon(call, "first", "/v1/plans/A/suggestions/P1")
                group.start_soon(call, "second", "/v1/plans/A/suggestions/P2")
                await anyio.sleep(0.05)
                await call("third", "/v1/plans/A/suggestions/P3")
                await call("booking", "/v1/bookings/P9")
                release.set()
            return [codes[n] for n in ("first", "second", "third", "booking")]

    assert anyio.run(scenario) == [200, 200, 503, 200]


def test_the_throttle_slows_one_client_not_others_and_bounds_its_memory() -> None:
    """Three failures allowed: the third slows the client; a thousand other clients keep at most 100 entries."""
    throttle = AuthThrottle(limit=3, clients=100)
    assert [throttle.failed("10.0.0.1") for _ in range(3)] == [False, False, True]
    assert throttle.retry_after("10.0.0.1") is not None
    assert throttle.retry_after("10.0.0.2") is None
    for index in range(1_000):
        throttle.failed(f"192.168.{index // 256}.{index % 256}")
    assert len(throttle._failures) <= 100
