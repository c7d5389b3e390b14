"""What the routes depend on: the caller's key and role, the settings and the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader

from api.gate import caller_of
from api.services import Services
from api.services.audit import AuditService
from api.services.bookings import BookingService
from api.services.health import HealthService
from api.services.keys import COORDINATOR, ORDER_SYSTEM, Caller
from api.services.plans import PlanService
from api.services.published import PublishedService
from api.services.reports import ReportService
from api.services.simulations import SimulationService
from api.settings import Settings

API_KEY = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `cart-schedule keys create`"
)


def get_services(request: Request) -> Services:
    """The services of this app (built by `create_app`)."""
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    """The settings of this app (built by `create_app`)."""
    settings: Settings = request.app.state.settings
    return settings


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _health(services: ServicesDep) -> HealthService:
    return services.health


def _plans(services: ServicesDep) -> PlanService:
    return services.plans


def _reports(services: ServicesDep) -> ReportService:
    return services.reports


def _published(services: ServicesDep) -> PublishedService:
    return services.published


def _bookings(services: ServicesDep) -> BookingService:
    return services.bookings


def _simulations(services: ServicesDep) -> SimulationService:
    return services.simulations


def _audit(services: ServicesDep) -> AuditService:
    return services.audit


Health = Annotated[HealthService, Depends(_health)]
Plans = Annotated[PlanService, Depends(_plans)]
Reports = Annotated[ReportService, Depends(_reports)]
PublishedPlans = Annotated[PublishedService, Depends(_published)]
Bookings = Annotated[BookingService, Depends(_bookings)]
Audit = Annotated[AuditService, Depends(_audit)]
Simulations = Annotated[SimulationService, Depends(_simulations)]


def _caller(
    request: Request, services: ServicesDep, key: Annotated[str | None, Depends(API_KEY)]
) -> Caller:
    """Who holds the request's key: admitted by the gate already, else looked up here."""
    caller = caller_of(request.state)
    if caller is None:
        caller = services.keys.owner(key) if key else None
    if caller is None:
        raise HTTPException(401, "a valid X-API-Key header is required")
    return caller


def role(*allowed: str) -> Callable[..., Caller]:
    """A dependency that admits keys of the given roles and yields their holder."""

    def caller(who: Annotated[Caller, Depends(_caller)]) -> Caller:
        if who.role not in allowed:
            raise HTTPException(
                403, f"a {who.role} key may not do this (needs: {', '.join(allowed)})"
            )
        return who

    return caller


def _name(*allowed: str) -> Callable[..., str]:
    admitted = role(*allowed)

    # A default, not an annotation: the annotation of a nested function cannot name `admitted`.
    def name(who: Caller = Depends(admitted)) -> str:  # noqa: B008
        return who.name

    return name


# The key's name, for the audit trail.
Coordinator = Annotated[str, Depends(_name(COORDINATOR))]
OrderSystem = Annotated[str, Depends(_name(ORDER_SYSTEM))]
Reader = Annotated[str, Depends(_name(COORDINATOR, ORDER_SYSTEM))]
# The whole caller, where its hospitals matter.
OrderSystemCaller = Annotated[Caller, Depends(role(ORDER_SYSTEM))]
ReaderCaller = Annotated[Caller, Depends(role(COORDINATOR, ORDER_SYSTEM))]
