"""Running the service as operations would: which database file, JSON logs with request ids."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.service.support import free_port, make_keys


def _serve(
    folder: Path, *options: str, scheme: str = "http"
) -> tuple[subprocess.Popen[bytes], str, Path]:
    """`cart-schedule serve` started in `folder` with a relative SQLite path; its process, URL, log."""
    port = free_port()
    log = folder / "server.log"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "cli", "serve", "--port", str(port)),
            *("--database-url", "sqlite:///relative.db", "--solver-workers", "1", *options),
        ],
        cwd=folder,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=os.environ | {"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(Path.cwd())},
    )
    url = f"{scheme}://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=1, verify=False).status_code == 200:
                return process, url, log
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(log.read_text()[-2000:])


@pytest.fixture
def served(tmp_path: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """The service over a relative SQLite path, with a coordinator key in that database."""
    make_keys(f"sqlite:///{tmp_path / 'relative.db'}")
    process, url, log = _serve(tmp_path)
    yield process, url, log
    process.terminate()
    process.wait(20)


def test_a_relative_sqlite_path_is_resolved_and_printed_at_start(
    served: tuple[subprocess.Popen[bytes], str, Path], tmp_path: Path
) -> None:
    """The operator reads which file holds the plans; it is the one in the folder serve ran in."""
    _, _, log = served
    assert f"database: sqlite:///{tmp_path / 'relative.db'}" in log.read_text()


def test_logs_are_json_lines_carrying_the_request_id(
    served: tuple[subprocess.Popen[bytes], str, Path],
) -> None:
    """A request with X-Request-ID: its access log line is JSON with that id."""
    _, url, log = served
    answer = httpx.get(url + "/v1/plans", headers={"X-Request-ID": "trace-7"})
    assert answer.status_code == 401 and answer.headers["X-Request-ID"] == "trace-7"
    time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert lines, log.read_text()[-1000:]
    traced = [line for line in lines if line.get("request_id") == "trace-7"]
    assert (
        traced and traced[0]["logger"] == "uvicorn.access" and "/v1/plans" in traced[0]["message"]
    )
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)


def test_serve_speaks_https_with_a_certificate(tmp_path: Path) -> None:
    """With --ssl-certfile/--ssl-keyfile the service answers over TLS (a self-signed test certificate)."""
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    process, url, _ = _serve(
        tmp_path, "--ssl-certfile", str(certificate), "--ssl-keyfile", str(key), scheme="https"
    )
    try:
        assert url.startswith("https://")
        assert (
            httpx.get(
                url + "/healthz", verify=ssl.create_default_context(cafile=certificate)
            ).status_code
            == 200
        )
    finally:
        process.terminate()
        process.wait(20)
