"""The generator's output is pinned: the same size, scenario and seed give byte-identical instances.

Benchmarks, the comparison with the MILP and the bundled `instances/ghent-week.json` are all
named by (size, scenario, seed); a refactoring that changed one byte of what a seed produces
would silently change every figure quoted for it. The digests were taken before the generator
moved into its own package.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from generator import SCENARIOS, SIZES, generate_instance, ghent_week, write_instance

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = json.loads((ROOT / "tests" / "data" / "generator-golden.json").read_text(encoding="utf-8"))


def _digest(doc: dict[str, object]) -> str:
    text = json.dumps(doc, indent=1, ensure_ascii=False) + "\n"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_every_size_and_scenario_is_pinned() -> None:
    """The golden file covers every size × scenario × seeds 1–3, nothing more or less."""
    expected = {
        f"{size}/{scenario}/{seed}"
        for size in SIZES
        for scenario in SCENARIOS
        for seed in (1, 2, 3)
    }
    assert set(GOLDEN) == expected


@pytest.mark.parametrize("size", list(SIZES))
def test_generated_instances_are_byte_identical_to_the_pinned_ones(size: str) -> None:
    """Each seed of a size gives exactly the instance it gave when the digests were taken."""
    for scenario in SCENARIOS:
        for seed in (1, 2, 3):
            key = f"{size}/{scenario}/{seed}"
            assert _digest(generate_instance(size, seed, scenario)) == GOLDEN[key], key


def test_the_bundled_ghent_week_is_what_its_recipe_writes(tmp_path: Path) -> None:
    """`instances/ghent-week.json` is reproduced byte for byte by `ghent_week()`."""
    written = tmp_path / "ghent-week.json"
    write_instance(ghent_week(), written)
    assert written.read_bytes() == (ROOT / "instances" / "ghent-week.json").read_bytes()
