"""Operating the server: health and readiness probes, Prometheus metrics, per-call observation, and the
background reconciliation of abandoned reservations.

HTTP endpoints (answered before the bearer-token check of ``/mcp``; ``GET`` or ``HEAD`` only):

* ``/healthz``: liveness. 200 ``{"status": "ok"}`` while the process serves requests. No token; reveals nothing.
* ``/readyz``: readiness. 200 ``{"status": "ready"}`` when the spend ledger answers and the upstream (IonQ or the
  sandbox) answers ``GET /backends``; else 503 ``{"status": "not ready"}``. No token; the reason goes to the
  log, never into the response. Checks are cached for :data:`READY_CACHE_S` so probes do not load IonQ.
* ``/metrics``: Prometheus text format (:mod:`ionq_mcp._metrics`). Needs ``Authorization: Bearer <token>`` with
  ``IONQ_MCP_METRICS_TOKEN``, or the HTTP token when that is unset: metrics show which tools are used and how
  much is spent, so they are not public, and a separate metrics token lets a scraper read them without being
  able to call tools.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

import anyio
import anyio.to_thread
import mcp_types as types

from ionq_mcp import _metrics
from ionq_mcp.guard import JobLookup, LedgerUnavailable
from ionq_mcp.server import _dispatch
from ionq_mcp.server._call import HandlerResult

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from ionq_mcp.guard import Guard
    from ionq_mcp.server._upstream import Upstream


class Served(Protocol):
    """What the operations endpoints read from the server (a :class:`~ionq_mcp.server.ServerApp`)."""

    @property
    def guard(self) -> Guard: ...

    @property
    def upstream(self) -> Upstream: ...

__all__ = ["READY_CACHE_S", "OpsEndpoints", "client_job_lookup", "observed_dispatch"]

#: Seconds a readiness answer is reused.
READY_CACHE_S = 5.0
#: Seconds each readiness check may take before it counts as failed.
READY_TIMEOUT_S = 5.0

_calls_log = logging.getLogger("ionq_mcp.calls")
_ops_log = logging.getLogger("ionq_mcp.ops")


async def observed_dispatch(app: _dispatch.Runtime, ctx: ServerRequestContext,
                            params: types.CallToolRequestParams) -> HandlerResult:
    """:func:`ionq_mcp.server._dispatch.dispatch` plus one metric sample and one log record per call (tool name,
    outcome, duration; never the arguments, which may hold secrets)."""
    start = time.perf_counter()
    outcome = "error"
    try:
        result = await _dispatch.dispatch(app, ctx, params)
        if isinstance(result, types.InputRequiredResult):
            outcome = "input_required"
        elif not (isinstance(result, types.CallToolResult) and result.is_error):
            outcome = "ok"
        return result
    finally:
        seconds = time.perf_counter() - start
        tool = params.name if params.name in app.inventory else "(unknown)"  # bounded label values
        _metrics.tool_call(tool, outcome, seconds)
        if _calls_log.isEnabledFor(logging.INFO):
            _calls_log.info("tool call", extra={
                "tool": tool, "outcome": outcome, "duration_ms": round(seconds * 1000, 3),
                "request_id": str(getattr(ctx, "request_id", "")),
                "protocol_version": str(getattr(ctx, "protocol_version", ""))})


def client_job_lookup(upstream: Upstream) -> JobLookup:
    """The job look-up reconciliation needs, through the server's client: the id of the job whose metadata
    carries the idempotency key, None when the listing proves there is none, an exception when it cannot tell."""
    async def lookup(idempotency_key: str, reserved_at: float) -> str | None:
        client = await upstream.client()
        job = await client.find_job(idempotency_key, since=reserved_at)
        return None if job is None else str(job.id)

    return lookup


class OpsEndpoints:
    """ASGI wrapper answering ``/healthz``, ``/readyz`` and ``/metrics`` (see the module docstring); every other
    request goes to ``app`` (the bearer-token-protected MCP endpoint)."""

    def __init__(self, app: Any, server: Served, *, metrics_token: str) -> None:
        if not metrics_token:
            raise ValueError("metrics_token: must be a non-empty string")
        self.app = app
        self.server = server
        self._metrics_auth = f"Bearer {metrics_token}".encode()
        self._ready: tuple[float, bool] | None = None
        self._ready_lock = anyio.Lock()
        _metrics.enable()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path") if scope["type"] == "http" else None
        if path not in ("/healthz", "/readyz", "/metrics"):
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "HEAD":
            send = _without_body(send)
        if scope.get("method") not in ("GET", "HEAD"):
            await _respond(send, 405, b'{"status":"method not allowed"}', extra=[(b"allow", b"GET, HEAD")])
        elif path == "/healthz":
            await _respond(send, 200, b'{"status":"ok"}')
        elif path == "/readyz":
            ready = await self.ready()
            await _respond(send, 200 if ready else 503,
                           b'{"status":"ready"}' if ready else b'{"status":"not ready"}')
        else:
            provided = next((v for k, v in scope.get("headers", ()) if k == b"authorization"), b"")
            if not hmac.compare_digest(provided, self._metrics_auth):
                await _respond(send, 401, json.dumps({"error": "unauthorized", "message": (
                    "send 'Authorization: Bearer <IONQ_MCP_METRICS_TOKEN>' (or the HTTP token when no metrics "
                    "token is set)")}).encode(), extra=[(b"www-authenticate", b'Bearer realm="ionq-mcp"')])
                return
            await self.ready()  # refreshes ionq_mcp_ledger_up
            body, content_type = _metrics.render()
            await _respond(send, 200, body, content_type=content_type.encode())

    async def ready(self) -> bool:
        """Ledger and upstream both answer (cached for :data:`READY_CACHE_S`)."""
        async with self._ready_lock:
            now = time.monotonic()
            if self._ready is not None and now - self._ready[0] < READY_CACHE_S:
                return self._ready[1]
            ledger_ok, upstream_ok = await self._check_ledger(), await self._check_upstream()
            _metrics.ledger_up(ledger_ok)
            self._ready = (time.monotonic(), ledger_ok and upstream_ok)
            return self._ready[1]

    async def _check_ledger(self) -> bool:
        try:
            with anyio.fail_after(READY_TIMEOUT_S):
                await anyio.to_thread.run_sync(self.server.guard.check_ready, abandon_on_cancel=True)
        except (LedgerUnavailable, TimeoutError) as exc:
            _ops_log.warning("not ready: spend ledger: %s", exc or "timed out")
            return False
        return True

    async def _check_upstream(self) -> bool:
        try:
            with anyio.fail_after(READY_TIMEOUT_S):
                client = await self.server.upstream.client()
                await client.list_backends()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready; the reason is logged
            _ops_log.warning("not ready: upstream %s: %s", self.server.upstream.base_url,
                             self.server.upstream.redact(f"{type(exc).__name__}: {exc}"))
            return False
        return True


async def _respond(send: Any, status: int, body: bytes, *, content_type: bytes = b"application/json",
                   extra: list[tuple[bytes, bytes]] | None = None) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
               (b"cache-control", b"no-store"), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _without_body(send: Any) -> Any:
    """A ``send`` for HEAD: headers as for GET (content-length included), no body bytes."""
    async def head_send(message: dict) -> None:
        if message["type"] == "http.response.body":
            message = {**message, "body": b""}
        await send(message)

    return head_send
