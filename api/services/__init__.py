"""What the service does, independent of HTTP, one module per resource around one `Store`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from api.dispatch import Dispatch, SimulationDispatch
from api.services.audit import AuditService
from api.services.bookings import BookingService
from api.services.health import HealthService
from api.services.keys import KeyService
from api.services.limits import InstanceLimits
from api.services.plans import PlanService
from api.services.published import PublishedService
from api.services.reports import ReportService
from api.services.simulations import PromiseCache, SimulationService
from api.store import Store


@dataclass(frozen=True)
class Services:
    """Every service of one process, sharing one store (and so one published plan and lock)."""

    store: Store
    health: HealthService
    keys: KeyService
    audit: AuditService
    plans: PlanService
    reports: ReportService
    published: PublishedService
    bookings: BookingService
    simulations: SimulationService

    @classmethod
    def over(
        cls,
        engine: Engine,
        limits: InstanceLimits | None = None,
        dispatch: Dispatch | None = None,
        simulation_dispatch: SimulationDispatch | None = None,
        max_simulation_runs: int = 500,
        max_active_simulations: int = 10,
    ) -> Services:
        """The services over one database; the dispatches hand queued plans and simulations on."""
        store = Store(engine)
        plans = PlanService(store, limits, dispatch)
        return cls(
            store=store,
            health=HealthService(store),
            keys=KeyService(store),
            audit=AuditService(store),
            plans=plans,
            reports=ReportService(plans),
            published=PublishedService(store),
            bookings=BookingService(store, PromiseCache(store)),
            simulations=SimulationService(
                store, max_simulation_runs, simulation_dispatch, max_active_simulations
            ),
        )
