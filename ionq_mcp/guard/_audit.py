"""The audit trail: one record per state-changing call, append-only, secrets removed before it is written.

:class:`AuditLog` is the interface the guard uses; :class:`JsonLinesAudit` appends JSON lines to a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

__all__ = ["AuditLog", "AuditRecord", "JsonLinesAudit"]

#: One audit record: ``time`` (UTC ISO 8601), ``tool``, ``arguments`` (redacted), ``outcome``,
#: ``estimated_usd``, ``actual_usd``, ``job_id`` and an optional ``detail``.
AuditRecord = Mapping[str, object]


class AuditLog(Protocol):
    """Where audit records go. ``append`` must not lose or interleave records written concurrently."""

    def append(self, record: AuditRecord) -> None:
        ...

    def close(self) -> None:
        ...


class JsonLinesAudit:
    """Audit records as JSON lines in a file (mode 0600, created with its directory).

    One ``write`` on an ``O_APPEND`` descriptor per line, so lines from concurrent processes do not
    interleave. Records arrive already redacted and scrubbed (:meth:`ionq_mcp.guard.Guard.audit`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"JsonLinesAudit({str(self.path)!r})"

    def append(self, record: AuditRecord) -> None:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode()
        if not self.path.parent.is_dir():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing is held open between records."""
