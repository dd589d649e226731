"""Prometheus metrics of one server process (``prometheus-client``), shared by the guard and the server.

Off until :func:`enable` is called (the HTTP transport does, for ``/metrics``): until then every recording
function is a no-op, so stdio servers and tests never import ``prometheus_client`` (about 0.2 s of start-up).
Kept outside the layers, like ``_net`` and ``_env``, so the guard records dollars without importing the server.

Metrics (each replica exports its own; Prometheus sums across replicas):

* ``ionq_mcp_tool_calls_total{tool,outcome}``: ``outcome`` is ``ok``, ``error`` (an ``isError`` result) or
  ``input_required`` (a 2026-07-28 confirmation round trip);
* ``ionq_mcp_tool_call_seconds{tool}``: histogram of whole tool calls;
* ``ionq_mcp_upstream_request_seconds{method,status}``: histogram of HTTP requests to IonQ (or the sandbox),
  ``status`` being the response code or ``error`` for a transport failure;
* ``ionq_mcp_guard_dollars_total{state,backend}``: US dollars ``reserved``, ``committed`` and ``released`` by the
  spend guard (estimates; committed money is later reconciled to the billed cost);
* ``ionq_mcp_ledger_up``: 1 when the last ledger check succeeded, else 0.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = ["dollars", "enable", "enabled", "ledger_up", "render", "tool_call", "upstream_request"]

_lock = threading.Lock()
_registry: CollectorRegistry | None = None
_tool_calls: Counter | None = None
_tool_seconds: Histogram | None = None
_upstream_seconds: Histogram | None = None
_dollars: Counter | None = None
_ledger_up: Gauge | None = None

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def enable() -> None:
    """Create the metrics (idempotent). Uses a registry of its own plus the process collector."""
    global _registry, _tool_calls, _tool_seconds, _upstream_seconds, _dollars, _ledger_up
    with _lock:
        if _registry is not None:
            return
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

        registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        _tool_calls = Counter("ionq_mcp_tool_calls", "MCP tool calls by tool and outcome",
                              ("tool", "outcome"), registry=registry)
        _tool_seconds = Histogram("ionq_mcp_tool_call_seconds", "Duration of MCP tool calls, seconds", ("tool",),
                                  buckets=_LATENCY_BUCKETS, registry=registry)
        _upstream_seconds = Histogram("ionq_mcp_upstream_request_seconds",
                                      "Duration of HTTP requests to the IonQ API (or sandbox), seconds",
                                      ("method", "status"), buckets=_LATENCY_BUCKETS, registry=registry)
        _dollars = Counter("ionq_mcp_guard_dollars", "US dollars reserved, committed and released by the spend guard",
                           ("state", "backend"), registry=registry)
        _ledger_up = Gauge("ionq_mcp_ledger_up", "1 when the last check reached the spend ledger, else 0",
                           registry=registry)
        _registry = registry


def enabled() -> bool:
    return _registry is not None


def tool_call(tool: str, outcome: str, seconds: float) -> None:
    if _tool_calls is not None and _tool_seconds is not None:
        _tool_calls.labels(tool, outcome).inc()
        _tool_seconds.labels(tool).observe(seconds)


def upstream_request(method: str, status: int | str, seconds: float) -> None:
    if _upstream_seconds is not None:
        _upstream_seconds.labels(method, str(status)).observe(seconds)


def dollars(state: str, backend: str, usd: float) -> None:
    if _dollars is not None and usd > 0:
        _dollars.labels(state, backend).inc(usd)


def ledger_up(up: bool) -> None:
    if _ledger_up is not None:
        _ledger_up.set(1 if up else 0)


def render() -> tuple[bytes, str]:
    """(body, content type) of the Prometheus text exposition; :func:`enable` first."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    enable()
    assert _registry is not None
    return generate_latest(_registry), CONTENT_TYPE_LATEST
