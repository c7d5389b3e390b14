"""Runs mapped over workers, and the report assembled from them.

The unit of work is `run_chunk(context_json, runs)`: a JSON context (instance, schedule,
settings) and a list of run indices in, one result per run out. `local_mapper` maps chunks over
local processes (`ProcessPoolExecutor`, spawn); any other `RunMapper` — a Celery group of
`run_chunk` tasks, say — can be passed to `simulate` instead: results depend only on the
context and the run index, never on where or in which order runs are played.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from models import Instance, Schedule, load_instance, load_schedule, to_json
from scheduler.workflows.simulate.clairvoyant import clairvoyant
from scheduler.workflows.simulate.metrics import (
    MEASURES,
    clairvoyant_measures,
    played_measures,
    summarize,
)
from scheduler.workflows.simulate.play import play
from scheduler.workflows.simulate.rates import POLICIES, Rates
from scheduler.workflows.simulate.sampling import draw
from scheduler.workflows.simulate.translate import RescueRules
from validator import validate

REPORT_FORMAT = "cart-schedule-simulation/1"
REFERENCES = ("do_nothing", "clairvoyant")
TIMING = "timing"  # the one top-level key whose content differs between identical runs

# (context JSON, run indices) -> one result per run, in the order of the indices.
RunMapper = Callable[[str, Sequence[int]], list[dict[str, Any]]]


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: how many runs from which seed, the policy, the rates, the time limits."""

    runs: int = 100
    seed: int = 0
    policy: str = "repair"
    rates: Rates = field(default_factory=Rates)
    time_limit: float = 5.0  # seconds per re-solve (replan policy, fallbacks)
    clairvoyant_time_limit: float = 10.0
    references: tuple[str, ...] = REFERENCES
    rescue: RescueRules = field(default_factory=RescueRules)

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"unknown policy {self.policy!r} (policies: {', '.join(POLICIES)})")
        unknown = set(self.references) - set(REFERENCES)
        if unknown:
            raise ValueError(
                f"unknown references {sorted(unknown)} (known: {', '.join(REFERENCES)})"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the context a worker rebuilds the settings from)."""
        return {
            "runs": self.runs,
            "seed": self.seed,
            "policy": self.policy,
            "rates": asdict(self.rates),
            "time_limit": self.time_limit,
            "clairvoyant_time_limit": self.clairvoyant_time_limit,
            "references": list(self.references),
            "rescue": asdict(self.rescue),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationConfig:
        """The settings from their JSON form."""
        return cls(
            runs=data["runs"],
            seed=data["seed"],
            policy=data["policy"],
            rates=Rates(**data["rates"]),
            time_limit=data["time_limit"],
            clairvoyant_time_limit=data["clairvoyant_time_limit"],
            references=tuple(data["references"]),
            rescue=RescueRules(**data["rescue"]),
        )


_CONTEXTS: dict[str, tuple[Instance, Schedule, SimulationConfig]] = {}


def _context(context_json: str) -> tuple[Instance, Schedule, SimulationConfig]:
    """The parsed context, once per process."""
    key = hashlib.sha256(context_json.encode()).hexdigest()
    if key not in _CONTEXTS:
        data = json.loads(context_json)
        _CONTEXTS.clear()
        _CONTEXTS[key] = (
            load_instance(data["instance"]),
            load_schedule(data["schedule"]),
            SimulationConfig.from_dict(data["config"]),
        )
    return _CONTEXTS[key]


def run_one(
    instance: Instance, schedule: Schedule, config: SimulationConfig, run: int
) -> dict[str, Any]:
    """One run: its draws, the policy and the references on them, every final plan validated."""
    draws = draw(instance, config.rates, config.seed, run)
    result: dict[str, Any] = {"run": run, "sampled": draws.counts()}
    timing: dict[str, float] = {}
    variants = [("policy", config.policy)]
    if "do_nothing" in config.references:
        variants.append(("do_nothing", "none"))
    for name, policy in variants:
        started = time.monotonic()
        played = play(instance, schedule, draws, policy, config.time_limit, config.rescue)
        measures = played_measures(instance, played)
        measures["violations"] = [str(v) for v in validate(played.instance, played.schedule)]
        result[name] = measures
        timing[name] = round(time.monotonic() - started, 4)
    if "clairvoyant" in config.references:
        started = time.monotonic()
        seer = clairvoyant(instance, schedule, draws, config.rescue, config.clairvoyant_time_limit)
        measures = clairvoyant_measures(instance, schedule, seer)
        measures["violations"] = [str(v) for v in validate(seer.instance, seer.schedule)]
        result["clairvoyant"] = measures
        timing["clairvoyant"] = round(time.monotonic() - started, 4)
    result[TIMING] = timing
    return result


def run_chunk(context_json: str, runs: Sequence[int]) -> list[dict[str, Any]]:
    """The unit of work of any mapper: these runs of this context, in order."""
    instance, schedule, config = _context(context_json)
    return [run_one(instance, schedule, config, run) for run in runs]


def local_mapper(processes: int = 1) -> RunMapper:
    """Runs in this process (1) or over `processes` local processes (spawned, chunks of runs)."""

    def mapper(context_json: str, runs: Sequence[int]) -> list[dict[str, Any]]:
        runs = list(runs)
        if processes <= 1 or len(runs) <= 1:
            return run_chunk(context_json, runs)
        # Small chunks: the pool hands them out as workers free up, so the last one to finish
        # waits at most one small chunk (each carries the context; a worker parses it once).
        count = min(len(runs), processes * 32)
        chunks = [runs[i::count] for i in range(count)]
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=processes, mp_context=spawn) as pool:
            futures = [pool.submit(run_chunk, context_json, chunk) for chunk in chunks]
            results = [r for future in futures for r in future.result()]
        return sorted(results, key=lambda r: r["run"])

    return mapper


def simulate(
    instance: Instance,
    schedule: Schedule,
    config: SimulationConfig,
    mapper: RunMapper | None = None,
    processes: int = 1,
) -> dict[str, Any]:
    """The simulation report: settings, summaries with 95 % intervals, checks, every run; timing apart."""
    context_json = json.dumps(
        {
            "instance": json.loads(to_json(instance)),
            "schedule": json.loads(to_json(schedule)),
            "config": config.to_dict(),
        },
        sort_keys=True,
    )
    started = time.monotonic()
    results = (mapper or local_mapper(processes))(context_json, range(config.runs))
    seconds = time.monotonic() - started
    timings = [{"run": r["run"], **r.pop(TIMING)} for r in results]
    report = assemble(instance, schedule, config, results)
    report[TIMING] = {
        "seconds": round(seconds, 3),
        "processes": processes if mapper is None else None,
        "runs_per_second": round(len(results) / seconds, 3) if seconds > 0 else None,
        "runs": timings,
    }
    return report


def _variants(config: SimulationConfig) -> list[str]:
    return ["policy", *[r for r in REFERENCES if r in config.references]]


def assemble(
    instance: Instance, schedule: Schedule, config: SimulationConfig, results: list[dict[str, Any]]
) -> dict[str, Any]:
    """The report from the runs' results (no timing: the same seed gives the same report)."""
    variants = _variants(config)
    summary = {
        variant: {
            measure: summarize([r[variant].get(measure) for r in results]) for measure in MEASURES
        }
        for variant in variants
    }
    pooled = {
        variant: {
            name: summarize([x for r in results for x in r[variant].get(name, [])])
            for name in ("rescue_delay_days", "vein_to_vein_days")
        }
        for variant in variants
    }
    differences: dict[str, Any] = {}
    pairs = [("policy", "do_nothing"), ("clairvoyant", "policy")]
    for first, second in pairs:
        if first in variants and second in variants:
            differences[f"{first}_minus_{second}"] = {
                measure: summarize(
                    [
                        None
                        if r[first].get(measure) is None or r[second].get(measure) is None
                        else r[first][measure] - r[second][measure]
                        for r in results
                    ]
                )
                for measure in ("treated_weight", "treated_patients", "late_or_untreated")
            }
    invalid = [
        {"run": r["run"], "variant": v, "violations": r[v]["violations"]}
        for r in results
        for v in variants
        if r[v]["violations"]
    ]
    checks: dict[str, Any] = {
        "plans_validated": len(results) * len(variants),
        "invalid_plans": invalid,
    }
    checks["time_limited_runs"] = [
        r["run"]
        for r in results
        if any(r[v].get("time_limited_solves") for v in variants if v != "clairvoyant")
    ]
    if "clairvoyant" in variants:
        limited = [r["run"] for r in results if r["clairvoyant"]["time_limited"]]
        below = [
            r["run"]
            for r in results
            if r["clairvoyant"]["treated_weight"] < r["policy"]["treated_weight"]
        ]
        checks["clairvoyant_time_limited_runs"] = limited
        checks["clairvoyant_below_policy_runs"] = [r for r in below if r not in limited]
        checks["clairvoyant_below_policy_time_limited_runs"] = [r for r in below if r in limited]
    if "do_nothing" in variants:
        checks["do_nothing_above_policy_runs"] = [
            r["run"]
            for r in results
            if r["do_nothing"]["treated_weight"] > r["policy"]["treated_weight"]
        ]
    return {
        "format": REPORT_FORMAT,
        "instance": instance.name,
        "schedule": {
            "status": schedule.status,
            "objective": None if schedule.objective is None else schedule.objective.model_dump(),
        },
        "config": config.to_dict() | {"rates_applied": config.rates.to_dict(instance)},
        "summary": summary,
        "pooled": pooled,
        "differences": differences,
        "checks": checks,
        "runs": results,
    }


def strip_timing(report: dict[str, Any]) -> dict[str, Any]:
    """The report without its timing: what the same seed must reproduce byte for byte."""
    return {key: value for key, value in report.items() if key != TIMING}
