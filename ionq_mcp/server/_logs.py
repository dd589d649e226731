"""Structured logs: one JSON object per line on stderr (``--log-format json`` / ``IONQ_MCP_LOG_FORMAT=json``).

Each line has ``time`` (UTC ISO 8601), ``level``, ``logger``, ``message`` and the record's extra fields (a tool
call adds ``tool``, ``outcome``, ``duration_ms``, ``request_id``, ``protocol_version``); an exception adds
``exception``. Secrets never reach a log record: tool calls log names and outcomes, not arguments, and the audit
fallback logs records already scrubbed. stdout is left alone (stdio transport).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "configure_logging"]

#: Attributes every LogRecord has; anything else on a record came from ``extra=`` and is emitted.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    """A :class:`logging.Formatter` writing one JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, separators=(",", ":"))


def configure_logging(log_format: str) -> None:
    """``json``: the root logger writes JSON lines to stderr at INFO (tool calls included). ``text``: unchanged
    (Python's default: warnings and errors only)."""
    if log_format != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("httpx", "httpcore", "mcp", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
