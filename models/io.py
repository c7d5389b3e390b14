"""Reading and writing the exchange formats, with every problem reported at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from models.checks import Problem, check_instance
from models.instance import Instance
from models.schedule import Schedule


class InputError(ValueError):
    """An input document is malformed; `problems` lists every problem with its location."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f"{source}: " if source else ""
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{where}{len(problems)} problem(s)\n{lines}")


class InstanceError(InputError):
    """An instance breaks the format of SPEC section 5 or the rules of section 7."""


class ScheduleFormatError(InputError):
    """A schedule document breaks the format of SPEC section 6."""


def json_path(location: tuple[int | str, ...]) -> str:
    """A pydantic error location as a JSON path: `patients[3].apheresis_window.earliest`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]":
            path += " (key)"
        else:
            path += f".{part}" if path else str(part)
    return path


def problems_of(error: ValidationError) -> list[Problem]:
    """Every problem of a pydantic validation error, with its JSON path."""
    problems = []
    for detail in error.errors(include_url=False):
        message = detail["msg"]
        if detail["type"] == "missing":
            message = "required field is missing"
        elif detail["type"] != "extra_forbidden" and "input" in detail:
            shown = detail["input"]
            if not isinstance(shown, (dict, list)):
                message = f"{message} (got {shown!r})"
        problems.append(Problem(json_path(tuple(detail["loc"])), message))
    return problems


def _read_json(
    source: str | Path | bytes | dict[str, Any], error_type: type[InputError]
) -> tuple[Any, str]:
    if isinstance(source, dict):
        return source, ""
    if isinstance(source, bytes):
        text, name = source.decode("utf-8", errors="replace"), ""
    else:
        path = Path(source)
        try:
            text, name = path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise error_type([Problem("", f"cannot read file: {exc.strerror}")], str(path)) from exc
    try:
        return json.loads(text), name
    except json.JSONDecodeError as exc:
        raise error_type(
            [Problem("", f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}")],
            name,
        ) from exc


def _validate(model: type[BaseModel], data: Any, error_type: type[InputError], name: str) -> Any:
    if not isinstance(data, dict):
        raise error_type([Problem("", "the document must be a JSON object")], name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise error_type(problems_of(exc), name) from exc


def load_instance(source: str | Path | bytes | dict[str, Any]) -> Instance:
    """Parse and check an instance (a path, JSON bytes or a dict); raise InstanceError listing every problem."""
    data, name = _read_json(source, InstanceError)
    if not isinstance(data, dict):
        raise InstanceError([Problem("", "the document must be a JSON object")], name)
    problems: list[Problem] = []
    instance: Instance | None = None
    try:
        instance = Instance.model_validate(data)
    except ValidationError as exc:
        problems = problems_of(exc)
    problems += [p for p in check_instance(data) if p not in problems]
    if problems or instance is None:
        raise InstanceError(problems, name)
    return instance


def load_schedule(source: str | Path | bytes | dict[str, Any]) -> Schedule:
    """Parse a schedule document; raise ScheduleFormatError listing every problem."""
    data, name = _read_json(source, ScheduleFormatError)
    schedule: Schedule = _validate(Schedule, data, ScheduleFormatError, name)
    return schedule


def to_json(document: BaseModel) -> str:
    """A model as exchange-format JSON text: optional fields appear only where they were given."""
    return document.model_dump_json(indent=1, exclude_unset=True) + "\n"


def write_json(document: BaseModel, path: str | Path) -> None:
    """Write a model as exchange-format JSON to a file."""
    Path(path).write_text(to_json(document), encoding="utf-8")
