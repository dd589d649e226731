"""The server's own logs: to stderr, at ``--log-level`` / ``IONQ_MCP_LOG_LEVEL``, secrets scrubbed.

stdout belongs to the MCP stdio transport, so logs only ever go to stderr. Every record passes through a filter
that replaces the secrets this process holds (the API key, the HTTP token; see ``Upstream.redact``) in the
message and in any traceback before it is written, whatever library logged it (httpx, the MCP SDK, uvicorn).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

__all__ = ["RedactingFilter", "configure_logging"]

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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


def configure_logging(level: str | None, redact: Callable[[str], str]) -> logging.Handler:
    """Send every log record at ``level`` or above (default: warning) to stderr through the redacting filter.

    Replaces a handler installed by an earlier call, so building several servers in one process does not
    duplicate lines. Returns the handler.
    """
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_ionq_mcp", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler._ionq_mcp = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(RedactingFilter(redact))
    root.addHandler(handler)
    root.setLevel(getattr(logging, (level or "warning").upper()))
    return handler
