"""schemathesis against the live /openapi.json: no 5xx, no answer outside the schema.

One test file per database (test_fuzz_sqlite.py, test_fuzz_postgresql.py), so that the two
runs, the longest tests of the suite, go to both pytest workers at once (`--dist loadfile`).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.service.support import (
    HORIZON_START,
    ORDER_SYSTEM_TAGS,
    Server,
    booking_site,
    make_keys,
    new_patient,
    solve_and_publish,
)

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"

# schemathesis sends bad keys on purpose; at the default 30 a minute the failed-authentication
# throttle answered 429 to most of 30 operations, so their logic went untested (its own warning).
UNTHROTTLED = {"CART_SCHEDULER_AUTH_FAILURES_PER_MINUTE": "1000000"}


def _schemathesis(
    server: Server, key: str, report: Path, *only: str
) -> subprocess.CompletedProcess[str]:
    # One worker: the coverage phase of schemathesis is not thread-safe on CPython 3.11.7 (an AST
    # recursion-depth SystemError inside hypothesis when two workers build strategies at once).
    # 15 examples per operation: at 30 the two backends' runs took 254 s and 164 s of a CI run
    # at the 20-minute limit, one after the other on one pytest worker.
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"X-API-Key: {key}",
            "--checks",
            CHECKS,
            "--max-examples",
            "15",
            "--workers",
            "1",
            "--seed",
            "1",
            "--report",
            "junit",
            "--report-dir",
            str(report),
            *only,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=report.parent,  # its cache stays out of the checkout
    )


def fuzz_every_operation(database_url: str, tmp_path: Path) -> None:
    """Fuzz every operation with each role's key, with a published plan so bookings reach the real logic."""
    keys = make_keys(database_url)
    server = Server(database_url, tmp_path / "server.log", env=UNTHROTTLED).start()
    try:
        with httpx.Client(
            base_url=server.url, headers={"X-API-Key": keys["coordinator"]}, timeout=30
        ) as coordinator:
            planned = new_patient("H1", HORIZON_START, HORIZON_START, id="P1")
            solve_and_publish(coordinator, booking_site(patients=[planned]))
        # The order system's key only on its own operations: everywhere else it gets 403 before
        # any body is read (test_access), and the coordinator's run has fuzzed those bodies.
        its_tags = f"--include-tag-regex=^({'|'.join(sorted(ORDER_SYSTEM_TAGS))})$"
        for role, only in (("coordinator", ()), ("order-system", (its_tags,))):
            run = _schemathesis(server, keys[role], tmp_path / role, *only)
            assert run.returncode == 0, (
                f"schemathesis with the {role} key:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
            )
            assert "Runtime Error" not in run.stdout
            assert "Rate limited" not in run.stdout, "the fuzzer met the throttle, not the logic"
    finally:
        server.stop()
