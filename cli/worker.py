"""`cart-schedule worker`: a Celery worker that solves the service's plans, on any machine.

It needs to reach the database (plans, results, the audit trail) and the broker (which plan
to solve next); run as many as the solves need, on as many machines. See docs/DEPLOY.md.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from api.db import create_db_engine, migrate, resolved_url
from api.dispatch import DEFAULT_QUEUE
from api.settings import database_url_from_env
from api.solving.engine import celery_app
from cli.service import DatabaseUrl, redacted


def worker(
    broker: Annotated[
        str | None,
        typer.Option(
            help="Celery broker URL (default $CART_BROKER_URL), e.g. amqp://guest:guest@127.0.0.1:5672//",
            show_default=False,
        ),
    ] = None,
    database_url: DatabaseUrl = None,
    concurrency: Annotated[
        int, typer.Option(min=1, help="plans solved at once by this worker (processes)")
    ] = 1,
    solver_workers: Annotated[int, typer.Option(min=1, help="CP-SAT threads per plan solve")] = 1,
    queues: Annotated[
        str, typer.Option(help="comma-separated broker queues to take plans from")
    ] = DEFAULT_QUEUE,
    log_level: Annotated[str, typer.Option(help="Celery log level")] = "INFO",
) -> None:
    """Solve plans sent by `cart-schedule serve --broker …` (Celery worker processes)."""
    broker_url = broker or os.environ.get("CART_BROKER_URL")
    if not broker_url:
        print("error: --broker or CART_BROKER_URL is required", file=sys.stderr)
        raise typer.Exit(2)
    url = resolved_url(database_url_from_env(database_url))
    engine = create_db_engine(url)
    migrate(engine)  # the same schema as the API servers, whoever starts first
    engine.dispose()
    first_queue = queues.split(",")[0].strip()
    app = celery_app(broker_url, first_queue)
    app.conf.cart_database_url = url
    app.conf.cart_solver_workers = solver_workers
    print(f"database: {redacted(url)}; broker: {redacted(broker_url)}", file=sys.stderr)
    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--loglevel={log_level}",
            "--pool=prefork",
            f"--hostname=cart-{os.getpid()}@%h",
            "--without-gossip",
            "--without-mingle",
        ]
    )
