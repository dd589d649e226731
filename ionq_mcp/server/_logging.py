"""The server's own logs: to stderr, at ``--log-level`` / ``IONQ_MCP_LOG_LEVEL``, secrets scrubbed, as text or
(``--log-format json`` / ``IONQ_MCP_LOG_FORMAT=json``) one JSON object per line.

stdout belongs to the MCP stdio transport, so logs only ever go to stderr. Every record passes through a filter
that replaces the secrets this process holds (the API key, the HTTP token; see ``Upstream.redact``) in the
message and in any traceback before it is written, whatever library logged it (httpx, the MCP SDK, uvicorn).

A JSON line has ``time`` (UTC ISO 8601), ``level``, ``logger``, ``message`` and the record's extra fields (a tool
call adds ``tool``, ``outcome``, ``duration_ms``, ``request_id``, ``protocol_version``); an exception adds
``exception``. Tool calls log names and outcomes, not arguments.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["JsonFormatter", "RedactingFilter", "configure_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
        elif record.exc_text:  # already formatted (and scrubbed) by RedactingFilter
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str, separators=(",", ":"))


class RedactingFilter(logging.Filter):
    """Rewrites each record with ``redact`` applied to its formatted message and traceback text."""

    def __init__(self, redact: Callable[[str], str]) -> None:
        super().__init__()
        self._redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self._redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        return True


def configure_logging(level: str | None, redact: Callable[[str], str], log_format: str = "text") -> logging.Handler:
    """Send every log record at ``level`` or above to stderr through the redacting filter, as text or (``json``)
    JSON lines. Default level: warning for text; info for JSON (tool calls included; httpx, the MCP SDK and
    uvicorn's access log stay at warning unless ``level`` is given).

    Replaces a handler installed by an earlier call, so building several servers in one process does not
    duplicate lines. Returns the handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_ionq_mcp", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler._ionq_mcp = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter(redact))
    if log_format == "json":
        root.handlers[:] = [handler]  # uvicorn's loggers propagate here instead of their own text handlers
        if level is None:
            for noisy in ("httpx", "httpcore", "mcp", "uvicorn.access"):
                logging.getLogger(noisy).setLevel(logging.WARNING)
    else:
        root.addHandler(handler)
    root.setLevel(getattr(logging, (level or ("info" if log_format == "json" else "warning")).upper()))
    return handler
