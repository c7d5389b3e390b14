"""Crafted workbooks uploaded to `POST /v1/workbooks`: answered 422 quickly, the server stays small
and keeps answering the order system meanwhile.

Real server over HTTP, on SQLite and PostgreSQL (the `server` fixture). The bombs are built from
a valid workbook written by the project's writer (`tests/workbook_bombs.py`); docs/WORKBOOK.md,
"Uploads", has the limits.
"""

from __future__ import annotations

import io
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.errors import Unprocessable
from api.services import documents
from models import load_instance
from models.workbook import write_instance
from models.workbook.safety import WorkbookLimits
from tests.service.support import (
    HORIZON_START,
    Server,
    booking_site,
    new_patient,
    solve_and_publish,
)
from tests.workbook_bombs import PNG_BYTES, big_text_cell, dimension_bomb, far_cell, zip_bomb

WEDNESDAY = HORIZON_START + timedelta(days=2)
MB = 1_000_000


def _status_mb(pid: int, field: str) -> float:
    """A memory figure of a process from /proc (Linux): VmRSS now, VmHWM its peak so far."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1000
    raise AssertionError(f"no {field}")


def _site() -> dict[str, Any]:
    return booking_site(
        patients=[
            new_patient("H1", WEDNESDAY, WEDNESDAY + timedelta(days=2), id=f"P{i}")
            for i in range(3)
        ]
    )


@pytest.fixture
def workbook(tmp_path: Path) -> bytes:
    """A valid planning workbook of the booking site with three patients."""
    return write_instance(load_instance(_site()), tmp_path / "plan.xlsx").read_bytes()


def _upload(client: httpx.Client, data: bytes, name: str = "plan.xlsx") -> httpx.Response:
    return client.post("/v1/workbooks", files={"file": (name, data)})


def _messages(answer: httpx.Response) -> list[str]:
    body = answer.json()
    return [body["detail"]] + [p["message"] for p in body.get("problems", [])]


def test_a_declared_dimension_of_a_billion_cells_costs_nothing(
    server: Server, coordinator: httpx.Client, workbook: bytes
) -> None:
    """Sheets declaring 100,000 rows x 16,384 columns read as the cells they hold: the same instance."""
    assert server.process is not None
    peak_before = _status_mb(server.process.pid, "VmHWM")
    bomb = workbook
    for sheet in ("site", "patients", "roster", "hospitals"):
        bomb = dimension_bomb(bomb, sheet)
    assert len(bomb) < 50_000
    started = time.monotonic()
    answer = _upload(coordinator, bomb)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 15
    assert load_instance(answer.json()["instance"]) == load_instance(_site())
    assert _status_mb(server.process.pid, "VmHWM") < peak_before + 100


def test_a_value_in_a_far_cell_is_422_naming_the_sheet_quickly_and_small(
    server: Server, coordinator: httpx.Client, workbook: bytes
) -> None:
    """A lone value at XFD100000 (and the dimension to match): 422 naming sheet and cell."""
    assert server.process is not None
    peak_before = _status_mb(server.process.pid, "VmHWM")
    bomb = far_cell(dimension_bomb(workbook, "patients"), "patients", "XFD100000")
    assert len(bomb) < 50_000
    started = time.monotonic()
    answer = _upload(coordinator, bomb)
    assert time.monotonic() - started < 15
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["problems"]
    assert problem["sheet"] == "patients"
    assert problem["message"] == (
        "sheet 'patients' has a value in cell XFD100000, beyond the 20,000 rows and 1000 "
        "columns a planning sheet may have"
    )
    assert _status_mb(server.process.pid, "VmHWM") < peak_before + 100
    # The server is fine afterwards: a valid workbook is read as ever.
    assert _upload(coordinator, workbook).status_code == 200


def test_a_zip_bomb_is_refused_unopened_naming_its_size_or_ratio(
    server: Server, coordinator: httpx.Client, workbook: bytes
) -> None:
    """300 MB of zeros in a few hundred kB: 422 saying the member's size; 20 MB: its ratio."""
    assert server.process is not None
    peak_before = _status_mb(server.process.pid, "VmHWM")
    bomb = zip_bomb(workbook, megabytes=300)
    assert len(bomb) < MB
    started = time.monotonic()
    answer = _upload(coordinator, bomb)
    assert time.monotonic() - started < 15
    assert answer.status_code == 422, answer.text
    messages = _messages(answer)
    assert (
        "cannot read the workbook: xl/media/image1.bin would unpack to 300 MB (limit 50 MB)"
        in messages
    )
    assert any("in all (limit 100 MB)" in message for message in messages)
    packed = _upload(coordinator, zip_bomb(workbook, megabytes=20))
    assert packed.status_code == 422, packed.text
    [ratio] = [m for m in _messages(packed) if "compression ratio" in m]
    assert ratio.endswith("of member xl/media/image1.bin is beyond 100:1: a zip bomb?")
    assert _status_mb(server.process.pid, "VmHWM") < peak_before + 100


def _zip_of_a_text_file() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "a zip, but no workbook")
    return out.getvalue()


def test_what_is_not_a_workbook_is_422_saying_so(coordinator: httpx.Client) -> None:
    """A picture, a CSV text, nothing, a zip of something else: each 422, saying what it is not."""
    cases = {
        "png": (PNG_BYTES, "not a zip archive"),
        "text": (b"patient,hospital\nP1,H1\n", "not a zip archive"),
        "empty": (b"", "not a zip archive"),
        "zip": (_zip_of_a_text_file(), "a zip archive without [Content_Types].xml"),
    }
    for case, (data, said) in cases.items():
        answer = _upload(coordinator, data)
        assert answer.status_code == 422, (case, answer.text)
        [problem] = answer.json()["problems"]
        assert problem["message"].startswith(
            "cannot read the workbook: the file is not an XLSX workbook"
        ), case
        assert said in problem["message"], case
        assert "/tmp" not in answer.text, case  # the server's temporary files are not shown


def test_the_order_system_is_answered_while_bombs_are_being_read(
    server: Server,
    coordinator: httpx.Client,
    order_system: httpx.Client,
    keys: dict[str, str],
    workbook: bytes,
) -> None:
    """Two coordinators upload bombs without pause; availability keeps its answer and its pace."""
    assert server.process is not None
    solve_and_publish(coordinator, booking_site())
    ask = new_patient("H1", WEDNESDAY, WEDNESDAY + timedelta(days=3))
    expected = order_system.post("/v1/availability", json=ask)
    assert expected.status_code == 200, expected.text
    peak_before = _status_mb(server.process.pid, "VmHWM")

    bombs = [
        far_cell(dimension_bomb(workbook, "patients"), "patients", "XFD100000"),
        zip_bomb(workbook, megabytes=300),
    ]
    stop = threading.Event()
    bomb_answers: list[tuple[float, float, int]] = []  # (sent, answered, status)

    def bombard(bomb: bytes) -> None:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=60
        ) as client:
            while not stop.is_set():
                sent = time.monotonic()
                status = _upload(client, bomb).status_code
                bomb_answers.append((sent, time.monotonic(), status))

    uploaders = [threading.Thread(target=bombard, args=(bomb,)) for bomb in bombs]
    for uploader in uploaders:
        uploader.start()
    asked: list[tuple[float, float, int, Any]] = []
    try:
        deadline = time.monotonic() + 120
        while (len(bomb_answers) < 6 or len(asked) < 10) and time.monotonic() < deadline:
            sent = time.monotonic()
            answer = order_system.post("/v1/availability", json=ask)
            asked.append((sent, time.monotonic(), answer.status_code, answer.json()))
            time.sleep(0.05)
    finally:
        stop.set()
        for uploader in uploaders:
            uploader.join(60)
    assert {status for _, _, status in bomb_answers} == {422}
    assert len(bomb_answers) >= 6
    assert all(status == 200 for _, _, status, _ in asked)
    assert all(body["offers"] == expected.json()["offers"] for _, _, _, body in asked)
    slowest = max(answered - sent for sent, answered, _, _ in asked)
    assert slowest < 5, f"availability took {slowest:.1f} s while bombs were read"
    # Availability answers really came while a bomb was in the server's hands.
    overlapping = [a for a in asked if any(b[0] < a[0] and a[1] < b[1] for b in bomb_answers)]
    assert len(overlapping) >= 3
    assert _status_mb(server.process.pid, "VmHWM") < peak_before + 100


def test_a_reader_out_of_memory_or_time_is_a_422_saying_which_limit(workbook: bytes) -> None:
    """The route's service function, in process: the child's limits are parameters (the running
    server uses the defaults, 1 GB / 30 s)."""
    big = big_text_cell(workbook, "patients", megabytes=40)  # allowed to pack tightly here
    loose = WorkbookLimits(max_ratio=10**9)
    with pytest.raises(Unprocessable) as caught:
        documents.check_workbook(big, 20 * MB, loose, memory_bytes=150 * MB)
    message = (
        "the workbook could not be read within 150 MB / 30 s: it needed more than 150 MB of memory"
    )
    assert caught.value.detail == message
    assert [p["message"] for p in caught.value.extra["problems"]] == [message]
    with pytest.raises(Unprocessable) as caught:
        documents.check_workbook(workbook, 20 * MB, seconds=0.2)
    assert caught.value.detail == (
        "the workbook could not be read within 1 GB / 0.2 s: it took longer than 0.2 s"
    )
