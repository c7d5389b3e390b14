"""Structured logs: one JSON object per line, each with the id of the request it belongs to."""

from __future__ import annotations

import logging
from typing import Any

from api.context import current_request_id


class RequestIdFilter(logging.Filter):
    """Stamp every record with the request id of the request being served (or null)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add `request_id`; never drops a record."""
        record.request_id = current_request_id()
        return True


def log_config(json_lines: bool = True, level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for uvicorn and the service: JSON lines, or plain text."""
    fields = "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": fields,
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        }
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "default",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"default": formatter},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            "uvicorn.access": {"handlers": ["default"], "level": level, "propagate": False},
            "cart_scheduler": {"handlers": ["default"], "level": level, "propagate": False},
        },
    }
