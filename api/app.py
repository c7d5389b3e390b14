"""The FastAPI application: builds the app over one database and includes the routers of `api.routes`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from api.db import create_db_engine, migrate
from api.dispatch import Dispatch, WakeEmbedded
from api.gate import Gate
from api.handlers import install_error_handlers
from api.routes import ROUTERS
from api.routes.responses import GATE, errors
from api.routes.web import STATIC
from api.services import Services
from api.services.limits import InstanceLimits
from api.settings import Settings, database_url_from_env
from api.solving.engine import SendToCelery, celery_app
from api.solving.workers import EmbeddedWorker, LeaseSweeper

__all__ = ["create_app", "database_url_from_env"]


def create_app(
    database_url: str | None = None,
    run_solver: bool = True,
    solver_workers: int = 2,
    broker_url: str | None = None,
) -> FastAPI:
    """The service over one database (migrated on start).

    `run_solver`: solve plans here (the embedded worker), or, with a broker (`broker_url` or
    `CART_BROKER_URL`), send them to Celery workers and recover those whose worker died.
    """
    settings = Settings(
        database_url=database_url_from_env(database_url), solver_workers=solver_workers
    )
    if broker_url:
        settings.broker_url = broker_url
    url = settings.database_url
    engine = create_db_engine(url)
    wake = WakeEmbedded()
    sender = (
        SendToCelery(celery_app(settings.broker_url, settings.solve_queue))
        if settings.broker_url
        else None
    )
    dispatch: Dispatch = sender or wake
    services = Services.over(
        engine,
        InstanceLimits(settings.max_patients, settings.max_suites, settings.max_operators),
        dispatch,
        sender or wake,
        settings.max_simulation_runs,
        settings.max_active_simulations,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        migrate(engine)
        background: EmbeddedWorker | LeaseSweeper | None = None
        if sender is not None:
            background = LeaseSweeper(url, sender)
        elif run_solver:
            background = EmbeddedWorker(url, wake.event, settings.solver_workers)
        if background is not None:
            background.start()
        yield
        if background is not None:
            background.stop()
        engine.dispose()

    # The docs page's scripts and styles come from the fastapi-offline package, never a CDN.
    app = FastAPIOffline(
        title="cart-scheduler",
        version="1",
        summary="CAR-T manufacturing slot scheduling: weekly plans for coordinators, apheresis bookings for the order system.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.services = services
    install_error_handlers(app)
    app.add_middleware(Gate, settings=settings, owner=services.keys.owner)
    for router in ROUTERS:
        versioned = (router.prefix or "").startswith("/v1")
        app.include_router(router, responses=errors(*GATE, 503) if versioned else None)
    # After the web router: its /static/plotly.min.js comes from the plotly package, not this folder.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
