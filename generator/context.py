"""What every section reads: the size and scenario, the horizon and the one random stream."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from typing import Any

from generator.sizes import SizeSpec

Doc = dict[str, Any]


@dataclass(frozen=True)
class Context:
    """The shared state of one instance being built; `rng` makes every random choice, in order."""

    size: str
    spec: SizeSpec
    seed: int
    scenario: str
    locked_share: float
    # True: one suite requalified in the busy weeks; None: maybe one late maintenance.
    maintenance: bool | None
    rng: random.Random
    spring: bool  # the dst scenario alternates spring and autumn by seed
    start: date
    days: int
    dates: list[date]
    end: date
    night: bool
    shifts: list[Doc]
    lab_days: tuple[str, ...]
    lab_closed: list[date]


def doc_number(value: float) -> int | float:
    """A number as the documents write it."""
    # Whole numbers are written as integers, as the models write them back.
    return int(value) if float(value).is_integer() else value
