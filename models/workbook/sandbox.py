"""Reading an untrusted .xlsx workbook in a child process, with a memory and a time limit.

The checks of `safety.py` and the sheet reader of `files.py` bound what a workbook may cost, but
the parsing itself (zip, XML, openpyxl) is other people's code fed with someone else's bytes. So
it runs in a fresh child process (`python -m models.workbook.sandbox`) whose address space is
capped with `RLIMIT_AS` and which is killed after a wall-clock timeout: whatever the file does,
the calling process keeps its memory and its time, and gets back either the instance document,
the problems (by sheet, row and column) or a `SandboxFailure` saying which limit was hit.

The child answers on stdout with one JSON object: `{"instance": {...}}`, `{"problems": [...]}`
or `{"unreadable": "<exception name>"}`.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from models.checks import Problem
from models.workbook.safety import DEFAULT_LIMITS, WorkbookLimits, size_text

MEMORY_BYTES = 1_000_000_000
SECONDS = 30.0
OUT_OF_MEMORY = 3  # the child's exit code when reading raised MemoryError
UPLOAD_NAME = "workbook.xlsx"  # how the read file is named in problems

logger = logging.getLogger(__name__)


class SandboxFailure(Exception):
    """The child did not finish reading: out of memory, out of time, or it crashed."""


class UnreadableWorkbook(Exception):
    """The reader failed in a way the workbook checks do not name (a malformed part)."""


class SandboxProblems(Exception):
    """The workbook was read and has problems, each by sheet, row and column."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


def _child_environment() -> dict[str, str]:
    """The parent's environment, the same code on the path, and one thread per numeric library
    (their thread pools reserve address space that `RLIMIT_AS` counts)."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    threads = dict.fromkeys(
        ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"), "1"
    )
    return os.environ | threads | {"PYTHONPATH": root + (os.pathsep + path if path else "")}


def read_workbook_isolated(
    data: bytes,
    limits: WorkbookLimits = DEFAULT_LIMITS,
    *,
    memory_bytes: int = MEMORY_BYTES,
    seconds: float = SECONDS,
) -> dict[str, Any]:
    """The instance document (`cart-schedule-instance/1`, as `to_json` writes it) of an .xlsx
    workbook, read in a child process limited to `memory_bytes` of address space and `seconds`.

    Raises SandboxProblems (the workbook's problems), UnreadableWorkbook or SandboxFailure.
    """
    budget = f"{size_text(memory_bytes)} / {seconds:g} s"
    with tempfile.TemporaryDirectory(prefix="cart-workbook-") as folder:
        path = Path(folder) / UPLOAD_NAME
        path.write_bytes(data)
        config = json.dumps({"limits": asdict(limits), "memory_bytes": memory_bytes})
        command = [sys.executable, "-m", "models.workbook.sandbox", str(path), config]
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=seconds,
                env=_child_environment(),
                cwd=folder,
                check=False,
            )
        except subprocess.TimeoutExpired as error:  # run() has killed the child
            raise SandboxFailure(
                f"the workbook could not be read within {budget}: it took longer than {seconds:g} s"
            ) from error
        if done.returncode != 0:
            logger.warning(
                "workbook reader exited with %s: %s",
                done.returncode,
                done.stderr.decode(errors="replace")[-2000:],
            )
            if done.returncode == OUT_OF_MEMORY or done.returncode < 0:
                raise SandboxFailure(
                    f"the workbook could not be read within {budget}: "
                    f"it needed more than {size_text(memory_bytes)} of memory"
                )
            raise SandboxFailure(
                f"the workbook could not be read within {budget}: "
                f"the reader stopped (exit code {done.returncode})"
            )
        try:
            answer = json.loads(done.stdout)
        except ValueError as error:
            raise SandboxFailure("the workbook reader gave no answer") from error
    if "problems" in answer:
        raise SandboxProblems(
            [
                Problem(UPLOAD_NAME if p["path"] == str(path) else p["path"], p["message"])
                for p in answer["problems"]
            ]
        )
    if "unreadable" in answer:
        raise UnreadableWorkbook(str(answer["unreadable"]))
    instance: dict[str, Any] = answer["instance"]
    return instance


def _limit_memory(memory_bytes: int) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory_bytes = min(memory_bytes, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def main(argv: list[str]) -> int:
    """The child: read the workbook at argv[1] with the limits of argv[2], answer on stdout."""
    from models import InputError, to_json
    from models.workbook.from_tables import read_instance

    path, config = argv[1], json.loads(argv[2])
    _limit_memory(int(config["memory_bytes"]))
    try:
        instance = read_instance(path, WorkbookLimits(**config["limits"]))
        answer = '{"instance": ' + to_json(instance) + "}"
    except MemoryError:
        return OUT_OF_MEMORY
    except InputError as error:
        answer = json.dumps(
            {"problems": [{"path": p.path, "message": p.message} for p in error.problems]}
        )
    except Exception as error:  # a malformed part openpyxl trips over
        answer = json.dumps({"unreadable": type(error).__name__})
    sys.stdout.write(answer)
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
