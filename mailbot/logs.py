"""Structured logging that cannot leak personal data.

One line per event, JSON for journald and log shippers or key=value for people. The last
line of defence against personal data in logs: only allow-listed keys are written with their
values; anything else is replaced by "[redacted]", so a careless `log.info(..., name=...)`
added later cannot put a victim's name in the journal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog

SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "reference",
        "outcome",
        "reasons",
        "warnings",
        "criteria",
        "folder",
        "error",
        "attempt",
        "waiting",
        "opened",
        "count",
        "processed",
        "agency",
        "kind",
        "state",
        "mailbox",
        "backlog",
        "held",
        "seconds",
        "path",
        "version",
        "signal",
        "rows",
    }
)
REDACTED = "[redacted]"


def _redact_unknown(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key not in SAFE_KEYS:
            event[key] = REDACTED
    return event


def configure(fmt: str = "json", level: str = "info", stream: TextIO | None = None) -> None:
    """Set up structlog for the process (called once, by the CLI)."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.processors.LogfmtRenderer(key_order=["event"])
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact_unknown,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stderr),
        cache_logger_on_first_use=False,
    )


def reset() -> None:
    """Back to structlog's defaults (after a command that logged to a file it now closes)."""
    structlog.reset_defaults()


def get_logger() -> structlog.typing.FilteringBoundLogger:
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger("mailbot")
    return logger
