"""The FastAPI application: builds the app over one database and includes the routers of `api.routes`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from fastapi.staticfiles import StaticFiles

from api.db import create_db_engine, migrate
from api.gate import Gate
from api.handlers import install_error_handlers
from api.jobs import SolveWorker, recover_interrupted
from api.routes import ROUTERS
from api.routes.responses import GATE, errors
from api.routes.web import STATIC
from api.services import Services
from api.services.limits import InstanceLimits
from api.settings import Settings, database_url_from_env

__all__ = ["create_app", "database_url_from_env"]


def create_app(
    database_url: str | None = None, run_solver: bool = True, solver_workers: int = 2
) -> FastAPI:
    """The service over one database (migrated on start); `run_solver` starts the plan worker."""
    settings = Settings(
        database_url=database_url_from_env(database_url), solver_workers=solver_workers
    )
    url = settings.database_url
    engine = create_db_engine(url)
    services = Services.over(
        engine,
        InstanceLimits(settings.max_patients, settings.max_suites, settings.max_operators),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        migrate(engine)
        worker = None
        if run_solver:
            recover_interrupted(url)
            worker = SolveWorker(url, services.plans.submitted, settings.solver_workers)
            worker.start()
        yield
        if worker is not None:
            worker.stop()
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
