"""What every command shares: the consoles, the exit codes, error printing, output checks and
the one way to load an instance and a schedule of it."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from models import InputError, Instance, Schedule, load_instance, load_schedule

if TYPE_CHECKING:
    from scheduler.search.outcome import Progress

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_BAD_INPUT = 2
EXIT_NO_SCHEDULE = 3


def out() -> Console:
    """A console on stdout for plain, unwrapped lines."""
    # Built per call so that a captured or redirected sys.stdout is honoured. Plain lines are
    # never wrapped (one violation or problem per line, whatever the width), no highlighting or
    # emoji codes, and markup stays off wherever user text (ids, JSON paths with [n]) is printed.
    return Console(highlight=False, soft_wrap=True, emoji=False)


def err() -> Console:
    """A console on stderr, set up like `out`."""
    return Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def fail_input(error: InputError, what: str) -> NoReturn:
    """Print every problem of a bad input file and exit 2."""
    console = err()
    source = error.source or what
    count = len(error.problems)
    console.print(f"error: {source}: {count} problem{'s' if count != 1 else ''}", markup=False)
    for problem in error.problems:
        console.print(f"  {problem}", markup=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print `error: message` on stderr and exit with `code` (2 unless told)."""
    err().print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def number(value: float | None) -> str:
    """A measure as printed: `-` when missing, integers without a decimal point."""
    if value is None:
        return "-"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


def check_writable(path: Path) -> None:
    """Refuse an output path whose folder does not exist, before spending time on a solve."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"cannot write {path}: folder {folder} does not exist")
    if path.is_dir():
        fail(f"cannot write {path}: it is a folder")


def check_target(path: Path) -> None:
    """Refuse a workbook target (.xlsx file or CSV folder) that cannot be written."""
    if path.suffix.lower() == ".xlsx":
        check_writable(path)
        return
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        fail(f"cannot write {path}: folder {folder} does not exist")
    if path.exists() and not path.is_dir():
        fail(f"cannot write {path}: give a .xlsx file or a folder for the CSV files")


def read_instance_file(instance_file: Path) -> Instance:
    """The instance in a file, or exit 2 listing its problems."""
    try:
        return load_instance(instance_file)
    except InputError as error:
        fail_input(error, str(instance_file))


def load_pair(
    instance_file: Path,
    schedule_file: Path,
    *,
    same_instance: bool = True,
    instance: Instance | None = None,
) -> tuple[Instance, Schedule]:
    """An instance and a schedule of it, or exit 2 naming what is wrong.

    With `same_instance` off the schedule may name another instance: the caller checks that
    itself (the validator reports it as a violation, a re-plan as a problem of the events).
    A caller that has read `instance_file` already passes it as `instance`, so that its other
    inputs can be checked between the two files in the order the command has always used.
    """
    if instance is None:
        instance = read_instance_file(instance_file)
    try:
        schedule = load_schedule(schedule_file)
    except InputError as error:
        fail_input(error, str(schedule_file))
    if same_instance and schedule.instance != instance.name:
        fail(
            f"{schedule_file} plans instance {schedule.instance!r}, not {instance.name!r} ({instance_file})"
        )
    return instance, schedule


class ProgressDisplay:
    """Shows solver progress: one live line on a terminal, throttled plain lines otherwise."""

    def __init__(self, console: Console, every_seconds: float = 2.0) -> None:
        self.console = console
        self.every_seconds = every_seconds
        self.live: Live | None = None
        self.lock = threading.Lock()
        self.last_level: str | None = None
        self.last_print = 0.0

    def __enter__(self) -> ProgressDisplay:
        if self.console.is_terminal:
            self.live = Live(
                Text("solving ..."), console=self.console, refresh_per_second=4, transient=True
            )
            self.live.__enter__()
        else:
            self.console.print("solving ...")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    @staticmethod
    def line(progress: Progress) -> str:
        """One progress report as a line of text."""
        return (
            f"{progress.level}: best {number(progress.objective)}, "
            f"bound {number(progress.bound)}, {progress.elapsed:.1f} s"
        )

    def __call__(self, progress: Progress) -> None:
        with self.lock:
            if self.live is not None:
                self.live.update(Text(self.line(progress)))
                return
            now = time.monotonic()
            if progress.level != self.last_level or now - self.last_print >= self.every_seconds:
                self.console.print(self.line(progress), markup=False)
                self.last_level = progress.level
                self.last_print = now
