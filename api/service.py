"""Names kept for callers of the former single-module service (the CLI creates keys through it).

The service now lives in `api.services` (one module per resource around `api.store`).
"""

from __future__ import annotations

from api.errors import Conflict, NotFound, ServiceError, Unprocessable
from api.services.keys import ROLES, create_key, hash_key

__all__ = [
    "ROLES",
    "Conflict",
    "NotFound",
    "ServiceError",
    "Unprocessable",
    "create_key",
    "hash_key",
]
