"""Benchmark solving on Celery workers (issue 16): plan throughput, and the service beside busy workers.

Everything runs as real processes over loopback: `cart-schedule serve --broker …`, one or two
`cart-schedule worker` processes (`--concurrency 1 --solver-workers 1`: one CP-SAT thread
each), RabbitMQ, and PostgreSQL or an SQLite file. Three parts:

1. throughput: 8 generated plans (size m, seeds 1–8, odd seeds `overload`, even seeds
   `normal`) submitted at once to a brokered server on PostgreSQL, solved by 1 worker and by 2
   workers, alternately, `--repetitions` times each. Wall time = last `finished_at` − first
   `created_at` (the database's clock); every schedule is checked with `validator.validate`;
2. the service beside busy workers: `api_bench`'s availability and booking measurements against
   a brokered server while both workers solve long plans (size l `overload`, kept topped up so
   a queued one is always waiting), on SQLite and on PostgreSQL;
3. `api_bench` as RESULTS.md's service section runs it (the server's embedded worker, nothing
   else solving), on SQLite and on PostgreSQL.

Each PostgreSQL run gets a fresh database (`bench_engine_…`, dropped afterwards) and each run
a fresh broker queue (deleted afterwards). The figures go to the `engine` section of
benchmarks/RESULTS.md and the raw records to benchmarks/engine.json.

    python benchmarks/engine_bench.py
    python benchmarks/engine_bench.py --parts throughput --repetitions 3
    python benchmarks/engine_bench.py --render benchmarks/engine.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import api_bench  # noqa: E402
from run import code_version, machine  # noqa: E402
from sections import write_section  # noqa: E402

from generator import generate_instance  # noqa: E402
from models import load_instance, load_schedule  # noqa: E402
from tests.service.support import Server, wait_for_plan  # noqa: E402
from validator import validate  # noqa: E402

SECTION_START, SECTION_END = "<!-- section:engine -->", "<!-- /section:engine -->"
TARGETS = {"availability_p95_ms": 100.0, "booking_p95_ms": 250.0}
DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
THROUGHPUT_PLANS = [(seed, "overload" if seed % 2 else "normal") for seed in range(1, 9)]


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(value, 2) for value in os.getloadavg()]


def now() -> str:
    """The time of day, for the record."""
    return datetime.now(UTC).strftime("%H:%M:%S")


# --------------------------------------------------------------------------------------
# Processes, databases, queues
# --------------------------------------------------------------------------------------


class Worker:
    """`cart-schedule worker` (concurrency 1, one CP-SAT thread) in its own process group."""

    def __init__(
        self, broker: str, database_url: str, queue: str, log_path: Path, nice: int = 0
    ) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [
                *(("nice", "-n", str(nice)) if nice else ()),
                *(sys.executable, "-m", "cli", "worker", "--broker", broker),
                *("--database-url", database_url, "--queues", queue),
                *("--concurrency", "1", "--solver-workers", "1"),
            ],
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
            env=os.environ | {"PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError("worker not ready in 60 s")
            time.sleep(0.2)

    def stop(self) -> None:
        """SIGTERM the process group (SIGKILL if it lingers) and reap."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@contextmanager
def database(kind: str, postgres: str, workdir: Path, label: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh PostgreSQL database dropped afterwards; its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'{label}.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_engine_{label}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(
        make_url(api_bench_url(postgres)).set(drivername="postgresql+psycopg"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def api_bench_url(url: str) -> str:
    """The URL as SQLAlchemy takes it (psycopg 3 for PostgreSQL)."""
    from api.db import normalise_url

    return normalise_url(url)


@contextmanager
def queue_of_its_own(broker: str) -> Iterator[str]:
    """A broker queue for this run alone, deleted afterwards (no leftover messages reach it)."""
    from kombu import Connection

    name = f"cart-bench-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        with Connection(broker) as connection:
            try:
                connection.default_channel.queue_delete(name)  # type: ignore[attr-defined]
            except Exception as error:  # the queue may never have been declared
                print(f"(queue {name} not deleted: {error})", flush=True)


@contextmanager
def brokered_site(
    broker: str, url: str, workdir: Path, label: str, workers: int, nice: int = 0
) -> Iterator[tuple[Server, dict[str, str]]]:
    """Keys, a brokered server and `workers` workers on one fresh queue; all stopped afterwards."""
    keys = api_bench.new_keys(url)
    with queue_of_its_own(broker) as queue:
        started: list[Worker] = []
        server = Server(
            url,
            workdir / f"{label}-server.log",
            "--broker",
            broker,
            env={"CART_SCHEDULER_SOLVE_QUEUE": queue},
        ).start()
        try:
            for index in range(workers):
                log_path = workdir / f"{label}-worker-{index}.log"
                started.append(Worker(broker, url, queue, log_path, nice))
            yield server, keys
        finally:
            server.stop()
            for worker in started:
                worker.stop()


def client(server: Server, key: str) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60)


def parse_time(value: str) -> float:
    """An API timestamp as seconds since the epoch."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


# --------------------------------------------------------------------------------------
# 1. Throughput
# --------------------------------------------------------------------------------------


def throughput_run(
    broker: str, postgres: str, workdir: Path, workers: int, repetition: int, time_limit: float
) -> dict[str, Any]:
    """8 m plans submitted at once; wall time from the first submit to the last done."""
    label = f"tp{workers}w{repetition}"
    instances = {
        (seed, scenario): generate_instance("m", seed, scenario)
        for seed, scenario in THROUGHPUT_PLANS
    }
    load_before = load_average()
    with (
        database("postgresql", postgres, workdir, label) as url,
        brokered_site(broker, url, workdir, label, workers) as (server, keys),
        client(server, keys["coordinator"]) as coordinator,
    ):
        print(f"[{now()}] throughput: {workers} worker(s), repetition {repetition}", flush=True)
        submitted: list[tuple[str, int, str]] = []
        began = time.time()
        for (seed, scenario), instance in instances.items():
            answer = coordinator.post("/v1/plans", json=instance, params={"time_limit": time_limit})
            assert answer.status_code == 202, answer.text
            submitted.append((answer.json()["id"], seed, scenario))
        submit_seconds = time.time() - began
        plans = []
        for plan_id, seed, scenario in submitted:
            plan = wait_for_plan(coordinator, plan_id, {"done"}, timeout=8 * time_limit + 300)
            schedule = load_schedule(coordinator.get(f"/v1/plans/{plan_id}/schedule").json())
            violations = validate(load_instance(instances[seed, scenario]), schedule)
            trail = [e for e in coordinator.get("/v1/audit").json() if e["entity_id"] == plan_id]
            solvers = sorted({e["actor"] for e in trail if e["action"] == "plan.solved"})
            plans.append(
                {
                    "seed": seed,
                    "scenario": scenario,
                    "status": plan["result"]["status"],
                    "created": parse_time(plan["created_at"]),
                    "started": parse_time(plan["started_at"]),
                    "finished": parse_time(plan["finished_at"]),
                    "violations": len(violations),
                    "solved_by": solvers,
                }
            )
    first = min(p["created"] for p in plans)
    last = max(p["finished"] for p in plans)
    for p in plans:
        p["queued_s"] = round(p["started"] - p["created"], 2)
        p["solve_s"] = round(p["finished"] - p["started"], 2)
    wall = last - first
    record = {
        "workers": workers,
        "repetition": repetition,
        "wall_s": round(wall, 2),
        "plans_per_minute": round(len(plans) * 60 / wall, 2),
        "submit_s": round(submit_seconds, 2),
        "sum_solve_s": round(sum(p["solve_s"] for p in plans), 2),
        "violations": sum(p["violations"] for p in plans),
        "distinct_solvers": len({s for p in plans for s in p["solved_by"]}),
        "load_before": load_before,
        "load_after": load_average(),
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "plans": plans,
    }
    print(
        f"  wall {record['wall_s']} s, {record['plans_per_minute']} plans/min, "
        f"violations {record['violations']}, load after {record['load_after']}",
        flush=True,
    )
    return record


# --------------------------------------------------------------------------------------
# 2. The service beside two busy workers
# --------------------------------------------------------------------------------------


class BusyWorkers:
    """Keeps the workers solving long plans: tops the queue up, samples how many are solving."""

    def __init__(
        self, server: Server, key: str, busy: int, size: str, scenario: str, time_limit: float
    ) -> None:
        self.server, self.key, self.busy = server, key, busy
        self.size, self.scenario, self.time_limit = size, scenario, time_limit
        self.plans: list[str] = []
        self.samples: list[int] = []
        self.sampling = threading.Event()
        self._stop = threading.Event()
        self._seed = 0
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _submit(self, http: httpx.Client) -> None:
        self._seed += 1
        instance = generate_instance(self.size, self._seed, self.scenario)
        answer = http.post("/v1/plans", json=instance, params={"time_limit": self.time_limit})
        assert answer.status_code == 202, answer.text
        self.plans.append(answer.json()["id"])

    def statuses(self, http: httpx.Client) -> list[str]:
        return [http.get(f"/v1/plans/{plan_id}").json()["status"] for plan_id in self.plans]

    def start(self) -> None:
        """Submit `busy` + 1 plans and wait until `busy` of them are solving."""
        with client(self.server, self.key) as http:
            for _ in range(self.busy + 1):
                self._submit(http)
            deadline = time.monotonic() + 120
            while self.statuses(http).count("solving") < self.busy:
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start the long solves in 120 s")
                time.sleep(0.5)
        self._thread.start()

    def _loop(self) -> None:
        with client(self.server, self.key) as http:
            while not self._stop.wait(1.0):
                found = self.statuses(http)
                if self.sampling.is_set():
                    self.samples.append(found.count("solving"))
                if found.count("queued") < 1:
                    self._submit(http)

    def stop(self) -> dict[str, Any]:
        """Stop topping up, cancel every plan still queued or solving; what was seen."""
        self._stop.set()
        self._thread.join(30)
        with client(self.server, self.key) as http:
            found = self.statuses(http)
            for plan_id, status in zip(self.plans, found, strict=True):
                if status in ("queued", "solving"):
                    http.delete(f"/v1/plans/{plan_id}")
        return {
            "plan": f"{self.size} {self.scenario}, time limit {self.time_limit:g} s",
            "submitted": len(self.plans),
            "finished_during_run": found.count("done"),
            "samples": len(self.samples),
            "min_solving": min(self.samples, default=0),
            "mean_solving": round(sum(self.samples) / max(1, len(self.samples)), 2),
            "share_all_busy": round(
                sum(1 for s in self.samples if s >= self.busy) / max(1, len(self.samples)), 3
            ),
        }


def service_run(
    kind: str, broker: str | None, postgres: str, workdir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """api_bench's measurements; with a broker, while two workers solve long plans."""
    nice = args.worker_nice if broker else 0
    label = f"svc{'busy' if broker else 'embedded'}{kind}{nice or ''}"
    instance = generate_instance(args.size, args.seed, "normal")
    load_before = load_average()
    with database(kind, postgres, workdir, label) as url:
        if broker:
            context = brokered_site(broker, url, workdir, label, 2, nice)
        else:
            context = embedded_site(url, workdir, label)
        with context as (server, keys):
            print(f"[{now()}] service: {label}", flush=True)
            plan = api_bench.publish_plan(server, keys["coordinator"], instance, args.solve_seconds)
            busy = None
            if broker:
                busy = BusyWorkers(
                    server, keys["coordinator"], 2, "l", "overload", args.busy_time_limit
                )
                busy.start()
                busy.sampling.set()
            try:
                figures = api_bench.measure(
                    server,
                    keys["order-system"],
                    instance,
                    args.seed,
                    args.availability_requests,
                    args.clients,
                    args.seconds,
                )
            finally:
                busy_record = busy.stop() if busy else None
    record = {
        "database": api_bench.database_name(url),
        "solving": "embedded worker, idle"
        if not broker
        else "brokered server, 2 Celery workers busy"
        + (f" (workers under `nice -n {nice}`)" if nice else ""),
        "worker_nice": nice,
        **plan,
        **figures,
        "busy": busy_record,
        "load_before": load_before,
        "load_after": load_average(),
        "at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print(f"  busy: {busy_record}; load after {record['load_after']}", flush=True)
    return record


@contextmanager
def embedded_site(url: str, workdir: Path, label: str) -> Iterator[tuple[Server, dict[str, str]]]:
    """Keys and a server that solves its plans itself (as api_bench runs it)."""
    keys = api_bench.new_keys(url)
    server = Server(url, workdir / f"{label}-server.log").start()
    try:
        yield server, keys
    finally:
        server.stop()


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def spread(values: list[float]) -> str:
    """mean (min–max) of a few figures."""
    if not values:
        return "–"
    mean = sum(values) / len(values)
    return f"{mean:.1f} ({min(values):.1f}–{max(values):.1f})"


def throughput_summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by = {w: [r for r in runs if r["workers"] == w] for w in (1, 2)}
    mean_rate = {w: sum(r["plans_per_minute"] for r in rs) / len(rs) for w, rs in by.items() if rs}
    ratios = [
        b["plans_per_minute"] / a["plans_per_minute"]
        for a, b in zip(by[1], by[2], strict=False)
        if a["repetition"] == b["repetition"]
    ]
    return {
        "mean_plans_per_minute": mean_rate,
        "ratio_of_means": mean_rate[2] / mean_rate[1] if len(mean_rate) == 2 else None,
        "pair_ratios": ratios,
    }


def render(data: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    lines = [
        SECTION_START,
        "## Solving on Celery workers (issue 16): throughput, and the service beside busy workers",
        "",
        f"- Date: {data['date']}; code: {data['code']}",
        f"- Machine: {data['machine']}",
        f"- Broker: RabbitMQ on loopback; PostgreSQL {data.get('postgres_version', '')} on loopback; "
        "every server, worker and client a separate process on this one machine",
        "- Workers: `cart-schedule worker --concurrency 1 --solver-workers 1` (one CP-SAT thread each)",
        f"- Command: `{data['command']}`",
    ]
    if data.get("note"):
        lines.append(f"- Note: {data['note']}")
    lines.append("")
    verdicts: list[str] = []
    runs = data.get("throughput") or []
    if runs:
        summary = throughput_summary(runs)
        rate = summary["mean_plans_per_minute"]
        lines += [
            "### Throughput: 8 plans of size m, 1 worker vs 2 workers (PostgreSQL)",
            "",
            f"Plans: `generator.generate_instance('m', seed, scenario)`, seeds 1–8, odd seeds `overload`, "
            f"even seeds `normal`; time limit {data['throughput_time_limit']:g} s each; all 8 submitted back to "
            "back (the submit span is given) to a brokered server; wall time = the last plan's `finished_at` − "
            "the first plan's `created_at`. Runs alternate 1 worker / 2 workers; each run has its own database, "
            "queue and freshly started workers (started before the clock).",
            "",
            "| run | workers | wall s | plans/min | submit span s | sum of solve times s | statuses | violations | workers that solved | load before → after |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for index, r in enumerate(runs, 1):
            statuses: dict[str, int] = {}
            for p in r["plans"]:
                statuses[p["status"]] = statuses.get(p["status"], 0) + 1
            lines.append(
                f"| {index} | {r['workers']} | {r['wall_s']:.1f} | {r['plans_per_minute']:.1f} | "
                f"{r['submit_s']:.2f} | {r['sum_solve_s']:.1f} | "
                + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))
                + f" | {r['violations']} | {r['distinct_solvers']} | "
                f"{r['load_before'][0]:.2f} → {r['load_after'][0]:.2f} |"
            )
        per_plan: dict[tuple[int, str], list[float]] = {}
        for r in runs:
            for p in r["plans"]:
                per_plan.setdefault((p["seed"], p["scenario"]), []).append(p["solve_s"])
        lines += [
            "",
            "Solve time per plan (started → finished, s; mean (min–max) over all runs): "
            + "; ".join(
                f"seed {seed} {scenario} {spread(values)}"
                for (seed, scenario), values in sorted(per_plan.items())
            )
            + ".",
            "",
        ]
        walls = {w: [r["wall_s"] for r in runs if r["workers"] == w] for w in (1, 2)}
        rates = {w: [r["plans_per_minute"] for r in runs if r["workers"] == w] for w in (1, 2)}
        ratio = summary["ratio_of_means"]
        lines += [
            f"- 1 worker: wall {spread(walls[1])} s, {spread(rates[1])} plans/min",
            f"- 2 workers: wall {spread(walls[2])} s, {spread(rates[2])} plans/min",
            f"- Throughput ratio 2 vs 1 workers: {ratio:.2f} (ratio of the mean rates); per repetition pair: "
            + ", ".join(f"{x:.2f}" for x in summary["pair_ratios"]),
            f"- Validator: {sum(r['violations'] for r in runs)} violations in "
            f"{sum(len(r['plans']) for r in runs)} schedules",
            "",
        ]
        verdicts.append(
            f"- **Throughput, 2 workers vs 1**: ratio {ratio:.2f} on a 2-core machine "
            f"({rate[1]:.1f} → {rate[2]:.1f} plans/min). "
            + "No pass/fail threshold was set for it; two single-thread workers on two cores "
            "can at best double it."
        )
        violations = sum(r["violations"] for r in runs)
        verdicts.append(
            f"- **Every schedule valid: {'MET' if violations == 0 else 'MISSED'}** "
            f"({violations} violations in {sum(len(r['plans']) for r in runs)} schedules)"
        )
    service = data.get("service") or []
    if service:
        lines += [
            "### Availability and bookings (api_bench's measurements)",
            "",
            f"Published plan: generated size {data['service_size']} seed {data['service_seed']} `normal`; availability: "
            f"1 client, {data['availability_requests']} requests after 20 warm-up ones; bookings: {data['clients']} clients "
            f"for {data['seconds']:g} s, each booking the best offer of a random patient and cancelling every second "
            "booking (see benchmarks/api_bench.py). *Busy*: a brokered server whose 2 workers solve generated "
            f"l `overload` plans (time limit {data['busy_time_limit']:g} s, one more always queued so a worker never idles; "
            "all cancelled afterwards); the share of 1-s samples during the measurement in which both were solving is "
            "given. *Idle*: `cart-schedule serve` with its embedded worker and nothing solving, exactly as the "
            "service section (`api`) below is measured.",
            "",
            "| database | solving | availability p50 / p95 / p99 ms | booking p50 / p95 / p99 ms | confirmed bookings/s | unexpected | both workers solving | load before → after |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in service:
            a, b, busy = r["availability"], r["bookings"], r["busy"]
            lines.append(
                f"| {r['database'].split(' ')[0]} | {r['solving']} | "
                f"{a['p50_ms']:.1f} / {a['p95_ms']:.1f} / {a['p99_ms']:.1f} | "
                f"{b['p50_ms']:.1f} / {b['p95_ms']:.1f} / {b['p99_ms']:.1f} | "
                f"{b['bookings_per_second']:.1f} | {b['unexpected']} | "
                + (
                    f"{busy['share_all_busy'] * 100:.0f} % of {busy['samples']} samples"
                    if busy
                    else "–"
                )
                + f" | {r['load_before'][0]:.2f} → {r['load_after'][0]:.2f} |"
            )
        lines.append("")
        for r in service:
            if not r["busy"] or r.get("worker_nice"):
                continue
            a, b = r["availability"], r["bookings"]
            name = r["database"].split(" ")[0]
            for target, figure, limit in (
                ("availability p95", a["p95_ms"], TARGETS["availability_p95_ms"]),
                ("booking p95", b["p95_ms"], TARGETS["booking_p95_ms"]),
            ):
                verdicts.append(
                    f"- **{target} <= {limit:g} ms while 2 workers solve, {name}: "
                    f"{'MET' if figure <= limit else 'MISSED'}** ({figure:.1f} ms)"
                )
    lines += ["### Targets", "", *verdicts]
    if data.get("remarks"):
        lines += ["", *data["remarks"]]
    lines += [
        "",
        "Reproduce (RabbitMQ and PostgreSQL on loopback, from the repository root):",
        "",
        "```sh",
        data["command"],
        *data.get("more_commands", []),
        "```",
        "",
        f"Raw records: `{data['json_name']}`.",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def shown_path(path: Path) -> str:
    """The path relative to the repository root when it lies inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def postgres_version(url: str) -> str:
    from sqlalchemy import create_engine, text

    engine = create_engine(api_bench_url(url))
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SHOW server_version")).scalar()).split(" ")[0]
    finally:
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL URL whose user may CREATE DATABASE; runs use fresh databases beside it",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        default=["throughput", "busy", "idle"],
        choices=["throughput", "busy", "idle"],
    )
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--throughput-time-limit", type=float, default=60.0)
    parser.add_argument("--busy-time-limit", type=float, default=60.0)
    parser.add_argument("--size", default="l", help="size of the published plan (service parts)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--availability-requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--solve-seconds", type=float, default=30.0)
    parser.add_argument(
        "--worker-nice",
        type=int,
        default=0,
        help="start the busy part's workers under `nice -n N` (a diagnostic; targets are judged without)",
    )
    parser.add_argument("--note", default="")
    parser.add_argument(
        "--remark",
        action="append",
        default=None,
        help="a line printed under the targets (repeat; with --render, replaces the saved ones)",
    )
    parser.add_argument(
        "--append",
        action="store_true",
        help="add this run's records to the saved JSON instead of starting afresh",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "engine.json")
    parser.add_argument("--render", type=Path, default=None, help="only re-render from a JSON")
    args = parser.parse_args(argv)
    data: dict[str, Any]
    if args.render:
        data = json.loads(args.render.read_text())
        if args.remark is not None:
            data["remarks"] = args.remark
            args.render.write_text(json.dumps(data, indent=1))
        write_section(args.out, render(data))
        print(f"wrote the engine section of {args.out}")
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="cart-engine-bench-"))
    print(f"logs in {workdir}", flush=True)
    found = machine()
    data = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code_version(),
        "machine": api_bench.describe_machine(),
        "cpu": found["cpu"],
        "cores": found["cores"],
        "ram": found["ram"],
        "postgres_version": postgres_version(args.postgres),
        "command": "python benchmarks/engine_bench.py " + " ".join(argv),
        "note": args.note,
        "json_name": shown_path(args.json),
        "throughput_plans": THROUGHPUT_PLANS,
        "throughput_time_limit": args.throughput_time_limit,
        "busy_time_limit": args.busy_time_limit,
        "service_size": args.size,
        "service_seed": args.seed,
        "availability_requests": args.availability_requests,
        "clients": args.clients,
        "seconds": args.seconds,
        "throughput": [],
        "service": [],
        "remarks": args.remark or [],
    }
    if args.append and args.json.exists():
        saved = json.loads(args.json.read_text())
        saved.setdefault("more_commands", []).append(data["command"])
        data = saved
    started = time.monotonic()
    if "throughput" in args.parts:
        for repetition in range(1, args.repetitions + 1):
            for workers in (1, 2):
                data["throughput"].append(
                    throughput_run(
                        args.broker,
                        args.postgres,
                        workdir,
                        workers,
                        repetition,
                        args.throughput_time_limit,
                    )
                )
                args.json.write_text(json.dumps(data, indent=1))
    for part in ("busy", "idle"):
        if part not in args.parts:
            continue
        for kind in args.databases:
            data["service"].append(
                service_run(
                    kind, args.broker if part == "busy" else None, args.postgres, workdir, args
                )
            )
            args.json.write_text(json.dumps(data, indent=1))
    data["minutes"] = round((time.monotonic() - started) / 60, 1)
    args.json.write_text(json.dumps(data, indent=1))
    write_section(args.out, render(data))
    print(f"wrote the engine section of {args.out} and {args.json} ({data['minutes']} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
