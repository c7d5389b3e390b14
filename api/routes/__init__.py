"""The HTTP routes, one router per resource; `api.app.create_app` includes them all."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes import (
    audit,
    bookings,
    documents,
    health,
    plans,
    published,
    reports,
    simulations,
    web,
)

ROUTERS: tuple[APIRouter, ...] = (
    web.router,
    health.router,
    plans.router,
    documents.router,
    reports.router,
    published.router,
    bookings.router,
    audit.router,
    simulations.router,
)
