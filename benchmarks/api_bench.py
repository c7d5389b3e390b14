"""Benchmark the service over loopback: availability and booking latency, booking throughput.

It starts `cart-schedule serve` on a fresh database, publishes a solved plan of a generated
instance (size l by default), then measures, over real HTTP:

1. availability: one client asking for random prospective patients (p50 / p95 / p99);
2. bookings: 8 clients booking at once for a fixed time; each books the best offer of a random
   patient (found once, before the clock starts) and cancels every second booking it made, so
   the site never fills up and the mix stays realistic. Reported: booking latency (201 and 409
   alike), confirmed bookings per second, and every request per second.

The figures are written into a marked section of benchmarks/RESULTS.md (the solver benchmark
keeps that section when it rewrites the file).

    python benchmarks/api_bench.py                       # SQLite file, size l, seed 1
    python benchmarks/api_bench.py --database-url postgresql://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

from run import code_version, machine  # noqa: E402
from sections import write_section  # noqa: E402

from api.db import create_db_engine, migrate  # noqa: E402
from api.service import create_key  # noqa: E402
from generator import generate_instance  # noqa: E402
from tests.service.support import Server, solve_and_publish  # noqa: E402

SECTION_START, SECTION_END = "<!-- section:api -->", "<!-- /section:api -->"
TARGETS = {"availability_p95_ms": 100.0, "booking_p95_ms": 250.0, "bookings_per_second": 50.0}


def percentile(values: list[float], share: float) -> float:
    """The `share` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def prospective_patients(
    instance: dict[str, Any], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """Random new patients of the instance's hospitals and products, windows inside the first half of the horizon."""
    start = date.fromisoformat(instance["horizon"]["start"])
    half = instance["horizon"]["days"] // 2
    patients = []
    for _ in range(count):
        earliest = start + timedelta(days=rng.randrange(0, half))
        patients.append(
            {
                "hospital": rng.choice(instance["hospitals"])["id"],
                "product": rng.choice(instance["products"])["id"],
                "weight": 1,
                "material": "fresh",
                "apheresis_window": {
                    "earliest": earliest.isoformat(),
                    "latest": (earliest + timedelta(days=6)).isoformat(),
                },
                "infusion_window": {"earliest": earliest.isoformat()},
            }
        )
    return patients


def measure_availability(
    server: Server, key: str, patients: list[dict[str, Any]]
) -> dict[str, Any]:
    """One client, one request at a time."""
    latencies = []
    offers = 0
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as client:
        for patient in patients[:20]:  # warm-up: connections, caches
            client.post("/v1/availability", json=patient)
        for patient in patients:
            began = time.perf_counter()
            answer = client.post("/v1/availability", json=patient)
            latencies.append((time.perf_counter() - began) * 1000)
            assert answer.status_code == 200, answer.text
            offers += len(answer.json()["offers"])
    return {
        "requests": len(latencies),
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "p99_ms": percentile(latencies, 0.99),
        "mean_offers": offers / len(latencies),
    }


def measure_bookings(
    server: Server, key: str, patients: list[dict[str, Any]], clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` threads booking the best offer of their patients and cancelling every second booking."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as client:
        choices = []
        for index, patient in enumerate(patients):
            offers = client.post("/v1/availability", json=patient).json()["offers"]
            if offers:
                choices.append(
                    patient
                    | {"id": f"BENCH-{index:05d}", "apheresis_date": offers[0]["apheresis_date"]}
                )
    book_latencies: list[float] = []
    counts = {"201": 0, "409": 0, "cancelled": 0, "other": 0}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def run(worker: int) -> None:
        mine = choices[worker::clients]
        booked: list[str] = []
        with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=30) as http:
            start.wait()
            for attempt, body in enumerate(mine * 50):
                if time.perf_counter() >= stop_at[0]:
                    return
                body = body | {"id": f"{body['id']}-{attempt}"}
                began = time.perf_counter()
                answer = http.post(
                    "/v1/bookings", json=body, headers={"Idempotency-Key": body["id"]}
                )
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    book_latencies.append(elapsed)
                    counts[
                        str(answer.status_code) if answer.status_code in (201, 409) else "other"
                    ] += 1
                if answer.status_code == 201:
                    booked.append(body["id"])
                    if len(booked) % 2 == 0:
                        cancelled = http.delete(f"/v1/bookings/{booked.pop(0)}")
                        with lock:
                            counts["cancelled" if cancelled.status_code == 200 else "other"] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "distinct_patients": len(choices),
        "booking_requests": len(book_latencies),
        "confirmed": counts["201"],
        "refused_409": counts["409"],
        "cancellations": counts["cancelled"],
        "unexpected": counts["other"],
        "p50_ms": statistics.median(book_latencies),
        "p95_ms": percentile(book_latencies, 0.95),
        "p99_ms": percentile(book_latencies, 0.99),
        "bookings_per_second": counts["201"] / elapsed,
        "booking_requests_per_second": len(book_latencies) / elapsed,
        "requests_per_second": (len(book_latencies) + counts["cancelled"]) / elapsed,
    }


def describe_machine() -> str:
    """CPU, cores, RAM, versions and the load before the run, in one line."""
    from importlib.metadata import version

    found = machine()
    packages = ", ".join(
        f"{name} {version(name)}" for name in ("fastapi", "uvicorn", "sqlalchemy", "httpx")
    )
    load = ", ".join(f"{value:.2f}" for value in found["load_before"])
    return (
        f"{found['cpu']}, {found['cores']} cores, {found['ram']} RAM, {found['os']}; Python {found['python']}, "
        f"{packages}; load average before: {load}"
    )


def render(result: dict[str, Any]) -> str:
    """The RESULTS.md section."""
    availability, bookings = result["availability"], result["bookings"]
    checks = [
        (
            "availability p95 <= 100 ms",
            availability["p95_ms"] <= TARGETS["availability_p95_ms"],
            f"{availability['p95_ms']:.1f} ms",
        ),
        (
            "booking p95 <= 250 ms",
            bookings["p95_ms"] <= TARGETS["booking_p95_ms"],
            f"{bookings['p95_ms']:.1f} ms",
        ),
        (
            ">= 50 bookings/s sustained with 8 clients",
            bookings["bookings_per_second"] >= TARGETS["bookings_per_second"],
            f"{bookings['bookings_per_second']:.1f} confirmed bookings/s ({bookings['booking_requests_per_second']:.1f} booking requests/s)",
        ),
    ]
    lines = [
        SECTION_START,
        "## Service (issue 3): availability and bookings over loopback",
        "",
        f"- Date: {result['date']}; code: {result['code']}",
        f"- Machine: {result['machine']}",
        f"- Database: {result['database']}; published plan: generated size {result['size']} seed {result['seed']} "
        f"({result['plan_status']}, {result['plan_assignments']} assignments); server: one `cart-schedule serve` process",
        f"- Command: `{result['command']}`",
        "",
        "| target | result | figure |",
        "|---|---|---|",
        *[f"| {name} | {'MET' if ok else 'MISSED'} | {figure} |" for name, ok, figure in checks],
        "",
        f"Availability, 1 client, {availability['requests']} requests: p50 {availability['p50_ms']:.1f} ms, "
        f"p95 {availability['p95_ms']:.1f} ms, p99 {availability['p99_ms']:.1f} ms; {availability['mean_offers']:.1f} offers per answer.",
        "",
        f"Bookings, {bookings['clients']} clients for {bookings['seconds']} s: {bookings['booking_requests']} booking requests "
        f"({bookings['confirmed']} confirmed 201, {bookings['refused_409']} refused 409), {bookings['cancellations']} cancellations, "
        f"{bookings['unexpected']} unexpected answers; booking latency p50 {bookings['p50_ms']:.1f} ms, p95 {bookings['p95_ms']:.1f} ms, "
        f"p99 {bookings['p99_ms']:.1f} ms; {bookings['requests_per_second']:.1f} requests/s in all.",
        SECTION_END,
    ]
    return "\n".join(lines) + "\n"


def new_keys(url: str) -> dict[str, str]:
    """Migrate the database and create a coordinator key and an order-system key for this run."""
    engine = create_db_engine(url)
    migrate(engine)
    stamp = datetime.now(UTC).strftime("%H%M%S%f")
    keys = {
        role: create_key(engine, f"bench-{role}-{stamp}", role)
        for role in ("coordinator", "order-system")
    }
    engine.dispose()
    return keys


def publish_plan(
    server: Server, key: str, instance: dict[str, Any], solve_seconds: float
) -> dict[str, Any]:
    """Solve the instance on the server (whatever solves its plans) and publish it."""
    with httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60) as coordinator:
        plan_id = solve_and_publish(coordinator, instance, time_limit=solve_seconds)
        schedule = coordinator.get(f"/v1/plans/{plan_id}/schedule").json()
    return {
        "plan_id": plan_id,
        "plan_status": schedule["status"],
        "plan_assignments": len(schedule["assignments"]),
    }


def measure(
    server: Server,
    key: str,
    instance: dict[str, Any],
    seed: int,
    availability_requests: int,
    clients: int,
    seconds: float,
) -> dict[str, Any]:
    """Availability (one client), then bookings (`clients` at once for `seconds`), on a published plan."""
    rng = random.Random(seed)
    print("availability ...", flush=True)
    availability = measure_availability(
        server, key, prospective_patients(instance, availability_requests, rng)
    )
    print(json.dumps(availability), flush=True)
    print("bookings ...", flush=True)
    bookings = measure_bookings(
        server, key, prospective_patients(instance, 400, rng), clients, seconds
    )
    print(json.dumps(bookings), flush=True)
    return {"availability": availability, "bookings": bookings}


def database_name(url: str) -> str:
    """How the report names the database."""
    return "PostgreSQL" if url.startswith("postgres") else "SQLite file (WAL, synchronous=FULL)"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write the figures."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="l")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=None,
        help="an existing, empty database (e.g. postgresql://postgres@127.0.0.1:5432/bench); "
        "default: an SQLite file in a temporary directory",
    )
    parser.add_argument("--availability-requests", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--solve-seconds",
        type=float,
        default=30.0,
        help="time limit of the plan that gets published",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS.md")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="cart-api-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    keys = new_keys(url)
    instance = generate_instance(args.size, args.seed, "normal")
    server = Server(url, workdir / "server.log").start()
    try:
        print(
            f"solving and publishing a size-{args.size} plan ({args.solve_seconds:g} s limit) ...",
            flush=True,
        )
        plan = publish_plan(server, keys["coordinator"], instance, args.solve_seconds)
        figures = measure(
            server,
            keys["order-system"],
            instance,
            args.seed,
            args.availability_requests,
            args.clients,
            args.seconds,
        )
    finally:
        server.stop()
    result = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "code": code_version(),
        "machine": describe_machine(),
        "database": database_name(url),
        "size": args.size,
        "seed": args.seed,
        "plan_status": plan["plan_status"],
        "plan_assignments": plan["plan_assignments"],
        "command": "python benchmarks/api_bench.py " + " ".join(argv),
        **figures,
    }
    write_section(args.out, render(result))
    print(f"wrote the service section of {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
