"""The service tried as an attacker would: no work before the key, bounded bodies, keys kept to their hospitals.

Real server over HTTP, on SQLite and PostgreSQL (the `server` fixture). Workbook bombs are in
`test_abuse_workbooks.py`, the audit trail in `test_audit_trail.py`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
)

WEDNESDAY = HORIZON_START + timedelta(days=2)
MB = 1_000_000


def _rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1000
    raise AssertionError("no VmRSS")


def _key(database_url: str, name: str, *hospitals: str) -> tuple[str, str]:
    """A new order-system key from the command line, and what the command said about its scope."""
    options = [option for h in hospitals for option in ("--hospital", h)]
    made = subprocess.run(
        [
            *(sys.executable, "-m", "cli", "keys", "create", "--role", "order-system"),
            *("--name", name, "--database-url", database_url, *options),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return made.stdout.strip(), made.stderr


def _booking(patient_id: str, hospital: str, day: Any = WEDNESDAY) -> dict[str, Any]:
    return new_patient(hospital, day, day, id=patient_id, apheresis_date=day.isoformat())


def test_a_hundred_megabytes_without_a_key_are_refused_before_they_are_read(
    server: Server,
) -> None:
    """401 within a second of the headers, while the client is still sending; the server stays small."""
    assert server.process is not None
    before = _rss_mb(server.process.pid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(
            b"POST /v1/plans HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {100 * MB}\r\n\r\n".encode()
        )
        started = time.monotonic()

        def send_the_body() -> None:
            chunk = b" " * MB
            try:
                for _ in range(100):
                    connection.sendall(chunk)
            except OSError:
                pass  # the server answered and closed: it never wanted the body

        sender = threading.Thread(target=send_the_body, daemon=True)
        sender.start()
        answer = connection.recv(4096)
        waited = time.monotonic() - started
        while b"\r\n\r\n{" not in answer:  # headers and body may come in two packets
            more = connection.recv(4096)
            if not more:
                break
            answer += more
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b"X-API-Key" in answer
    assert waited < 1.0
    assert _rss_mb(server.process.pid) - before < 50


def test_bodies_beyond_the_limit_are_413_whether_announced_or_streamed(
    server: Server, coordinator: httpx.Client
) -> None:
    """30 MB of JSON with a valid key: 413 from Content-Length, and 413 when sent chunked without one."""
    announced = coordinator.post(
        "/v1/plans", content=b" " * (30 * MB), headers={"Content-Type": "application/json"}
    )
    assert announced.status_code == 413
    assert "10 MB" in announced.json()["detail"]

    def chunks() -> Any:
        for _ in range(30):
            yield b" " * MB

    streamed = coordinator.post(
        "/v1/plans", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert streamed.status_code == 413
    assert coordinator.get("/v1/plans").status_code == 200  # and the server is still there


def test_repeated_bad_keys_from_one_client_are_slowed_and_logged(server: Server) -> None:
    """Thirty failures in a minute: the next request is 429 with Retry-After, and the log says who."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": "cs_guess"}) as guesser:
        codes = [guesser.get("/v1/plans").status_code for _ in range(30)]
        slowed = guesser.get("/v1/plans")
    assert codes == [401] * 30
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["Retry-After"]) <= 61
    assert "failed authentication 30 times" in server.log_path.read_text()


def test_every_answer_carries_a_request_id(server: Server, coordinator: httpx.Client) -> None:
    """A client's own id is echoed; without one, the server makes one up."""
    own = coordinator.get("/v1/plans", headers={"X-Request-ID": "order-42"})
    assert own.headers["X-Request-ID"] == "order-42"
    made_up = coordinator.get("/v1/plans")
    assert len(made_up.headers["X-Request-ID"]) == 32
    refused = httpx.get(server.url + "/v1/plans")
    assert refused.status_code == 401 and refused.headers["X-Request-ID"]


def test_instances_beyond_the_service_limits_are_422_with_their_paths(
    server: Server, coordinator: httpx.Client
) -> None:
    """5,001 patients, or a patient id longer than the 100 characters its column holds: 422, nothing queued."""
    crowd = [new_patient("H1", WEDNESDAY, WEDNESDAY, id=f"P{index:04d}") for index in range(5_001)]
    too_many = coordinator.post("/v1/plans", json=booking_site(patients=crowd))
    assert too_many.status_code == 422
    assert [p["path"] for p in too_many.json()["problems"]] == ["body.patients"]
    long_id = coordinator.post(
        "/v1/plans",
        json=booking_site(patients=[new_patient("H1", WEDNESDAY, WEDNESDAY, id="P" * 101)]),
    )
    assert long_id.status_code == 422
    assert long_id.json()["problems"][0]["path"] == "body.patients[0].id"
    assert coordinator.get("/v1/plans").json() == []


def test_an_order_system_key_acts_only_for_its_hospitals(
    server: Server, coordinator: httpx.Client, database_url: str
) -> None:
    """H1's key: H2's questions are 403, H2's bookings are as absent as unknown ones (404)."""
    solve_and_publish(coordinator, booking_site(chairs=4))
    h1_key, said = _key(database_url, "h1-orders", "H1")
    assert "books for hospitals H1" in said
    all_key, said_all = _key(database_url, "all-orders")
    assert "every hospital" in said_all
    h1 = httpx.Client(base_url=server.url, headers={"X-API-Key": h1_key}, timeout=30)
    everyone = httpx.Client(base_url=server.url, headers={"X-API-Key": all_key}, timeout=30)
    with h1, everyone:
        asked = h1.post("/v1/availability", json=new_patient("H2", WEDNESDAY, WEDNESDAY))
        assert asked.status_code == 403 and "H1" in asked.json()["detail"]
        booked_elsewhere = h1.post(
            "/v1/bookings", json=_booking("H2-P1", "H2"), headers={"Idempotency-Key": "a"}
        )
        assert booked_elsewhere.status_code == 403
        assert "H2-P1" not in booked_elsewhere.text
        ours = h1.post(
            "/v1/bookings", json=_booking("H1-P1", "H1"), headers={"Idempotency-Key": "b"}
        )
        assert ours.status_code == 201, ours.text
        theirs = everyone.post(
            "/v1/bookings", json=_booking("H2-P2", "H2"), headers={"Idempotency-Key": "c"}
        )
        assert theirs.status_code == 201, theirs.text
        unknown = h1.get("/v1/bookings/NOBODY")
        hidden = h1.get("/v1/bookings/H2-P2")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["detail"] == "no booking for patient 'H2-P2'"
        assert h1.delete("/v1/bookings/H2-P2").status_code == 404
        assert everyone.get("/v1/bookings/H2-P2").status_code == 200  # still booked
        assert h1.get("/v1/bookings/H1-P1").status_code == 200
        assert h1.delete("/v1/bookings/H1-P1").status_code == 200


def test_one_bad_booking_among_twenty_good_ones_fails_alone(
    server: Server, coordinator: httpx.Client, keys: dict[str, str]
) -> None:
    """21 bookings at once, one with a 150-character id: 20 x 201 and one 422 naming `body.id`."""
    solve_and_publish(coordinator, booking_site(chairs=25, positions=60))
    start = threading.Barrier(21)

    def book(index: int) -> httpx.Response:
        patient_id = "X" * 150 if index == 0 else f"GOOD-{index:02d}"
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["order-system"]}, timeout=60
        ) as client:
            start.wait()
            return client.post(
                "/v1/bookings",
                json=_booking(patient_id, "H1"),
                headers={"Idempotency-Key": f"burst-{index}"},
            )

    with ThreadPoolExecutor(21) as pool:
        answers = list(pool.map(book, range(21)))
    assert answers[0].status_code == 422
    assert answers[0].json()["problems"][0]["path"] == "body.id"
    assert [a.status_code for a in answers[1:]] == [201] * 20
