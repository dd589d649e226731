"""Serving the MCP server over stdio (default) or streamable HTTP.

HTTP security contract:

* every HTTP request must carry ``Authorization: Bearer <IONQ_MCP_HTTP_TOKEN>`` (the scheme in any case, as
  RFC 9110 says; the token compared in constant time); a missing or wrong token gets 401 and never reaches
  the MCP layer;
* on a loopback host without a configured token, a random token is generated and printed to stderr once; on
  any other host the server refuses to start without a token of at least :data:`MIN_TOKEN_LENGTH` characters;
* a client that has not sent its complete request headers within ``http_header_timeout_s`` (default 30 s) of
  connecting, or of starting its next request on a kept-alive connection, is disconnected (slowloris); a
  streamable HTTP session without a request for ``http_session_idle_s`` (default 30 min) is closed, and at
  most :data:`MAX_SESSIONS` sessions live at once;
* DNS-rebinding protection is on for every host: the Host and Origin headers must match the bind address
  (loopback names for a loopback bind) or ``IONQ_MCP_ALLOWED_HOSTS`` / ``IONQ_MCP_ALLOWED_ORIGINS``.

Both protocol eras are served: the SDK's streamable HTTP app answers the 2025-11-25 handshake and the
2026-07-28 per-request envelope on the same endpoint (``/mcp``). With ``stateless_http`` (``--stateless``, or
several ``--replicas``) no request depends on another's in-memory state, so any replica may serve any request.
``/healthz``, ``/readyz`` and ``/metrics`` are answered before the token check (:mod:`._ops`), and while serving,
abandoned reservations are reconciled every ``reconcile_interval_s``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
import sys
from typing import TYPE_CHECKING, Any

import anyio

from ionq_mcp._net import is_loopback_host

if TYPE_CHECKING:
    from ionq_mcp.server._app import ServerApp
    from ionq_mcp.server._config import ServerConfig

__all__ = [
    "BearerTokenMiddleware",
    "TokenRequired",
    "build_http_app",
    "header_timeout_protocol",
    "resolve_http_token",
    "serve_http",
    "serve_stdio",
]

MCP_PATH = "/mcp"
#: Shortest bearer token accepted when the server listens beyond loopback (32 characters of a random
#: token_urlsafe are 192 bits).
MIN_TOKEN_LENGTH = 32
#: Most streamable HTTP sessions alive at once; a new one beyond it is refused until one ends or idles out.
MAX_SESSIONS = 100
_log = logging.getLogger(__name__)
_LOOPBACK_HOSTS = ("127.0.0.1:*", "localhost:*", "[::1]:*")
_LOOPBACK_ORIGINS = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")


class TokenRequired(RuntimeError):
    """Refusing to serve HTTP on a non-loopback address without ``IONQ_MCP_HTTP_TOKEN``."""


class BearerTokenMiddleware:
    """ASGI middleware: HTTP requests without the right bearer token get 401; other scopes pass through."""

    def __init__(self, app: Any, token: str) -> None:
        if not token:
            raise ValueError("token: must be a non-empty string")
        self.app = app
        self._expected = token.encode()

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            provided = b""
            for name, value in scope.get("headers", ()):
                if name == b"authorization":
                    provided = value
                    break
            scheme, _, credentials = provided.strip().partition(b" ")
            # The scheme is case-insensitive (RFC 9110 11.1); the token is compared in constant time.
            valid = scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self._expected)
            if not valid:
                await self._reject(send, missing=not provided)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _reject(send: Any, *, missing: bool) -> None:
        message = "missing bearer token" if missing else "invalid bearer token"
        body = json.dumps({"error": "unauthorized", "message": f"{message}: send 'Authorization: Bearer "
                           "<IONQ_MCP_HTTP_TOKEN>'"}).encode()
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="ionq-mcp"'),
            ],
        })
        await send({"type": "http.response.body", "body": body})


def resolve_http_token(config: ServerConfig) -> tuple[str, bool]:
    """The bearer token to require, and whether it was generated here.

    Raises :class:`TokenRequired` for a non-loopback host without ``IONQ_MCP_HTTP_TOKEN``.
    """
    if config.http_token:
        if not is_loopback_host(config.host) and len(config.http_token) < MIN_TOKEN_LENGTH:
            raise TokenRequired(
                f"refusing to serve HTTP on {config.host} with a {len(config.http_token)}-character "
                f"IONQ_MCP_HTTP_TOKEN: beyond loopback it must be at least {MIN_TOKEN_LENGTH} random characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return config.http_token, False
    if not is_loopback_host(config.host):
        raise TokenRequired(
            f"refusing to serve HTTP on {config.host} without a token: set IONQ_MCP_HTTP_TOKEN to a long random "
            "secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or bind to 127.0.0.1"
        )
    return secrets.token_urlsafe(32), True


def _security_settings(config: ServerConfig) -> Any:
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = list(_LOOPBACK_HOSTS)
    origins = list(_LOOPBACK_ORIGINS)
    if not is_loopback_host(config.host) and config.host not in ("0.0.0.0", "::"):
        name = f"[{config.host}]" if ":" in config.host else config.host
        hosts += [name, f"{name}:*"]
        origins += [f"http://{name}:*", f"https://{name}:*", f"https://{name}"]
    hosts += list(config.allowed_hosts)
    origins += list(config.allowed_origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts,
                                     allowed_origins=origins)


def build_http_app(server: ServerApp, config: ServerConfig, token: str) -> Any:
    """The ASGI app: the SDK's streamable HTTP app at ``/mcp`` behind the bearer-token check, and the operations
    endpoints (:class:`~ionq_mcp.server._ops.OpsEndpoints`) beside it."""
    from ionq_mcp.server._ops import OpsEndpoints

    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, host=config.host, transport_security=_security_settings(config),
        stateless_http=config.stateless_http,
        session_idle_timeout=config.http_session_idle_s, max_sessions=MAX_SESSIONS,
    )
    return OpsEndpoints(BearerTokenMiddleware(app, token), server, metrics_token=config.metrics_token or token)


def header_timeout_protocol(seconds: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol that drops a connection whose request headers are not complete ``seconds`` after
    the connection opened or its previous response finished (a slowloris holds a connection forever
    otherwise: uvicorn bounds idle keep-alive time, not the time to send a request)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderTimeoutH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                self._arm()  # a request has begun (or is about to) but its headers are not all here
            else:
                self._disarm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()  # uvicorn's keep-alive timeout covers the idle time until the next request

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                _log.info("dropping a connection whose request headers did not arrive within %g s", seconds)
                self.transport.close()

    return HeaderTimeoutH11Protocol


async def serve_stdio(server: ServerApp) -> None:
    """Serve one client over stdin/stdout until it disconnects."""
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


async def serve_http(server: ServerApp, config: ServerConfig) -> None:
    """Serve streamable HTTP on ``config.host:config.port`` until interrupted (see the module contract)."""
    import uvicorn

    token, generated = resolve_http_token(config)
    app = build_http_app(server, config, token)
    await _open_ledger(server)
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"ionq-mcp: streamable HTTP on http://{host}:{config.port}{MCP_PATH}", file=sys.stderr)
    if generated:
        print(f"ionq-mcp: no IONQ_MCP_HTTP_TOKEN set; this run's token is: {token}", file=sys.stderr)
        print("ionq-mcp: clients must send 'Authorization: Bearer <token>'", file=sys.stderr)
    sys.stderr.flush()
    # In JSON mode uvicorn's loggers propagate to the root JSON handler instead of its own text handlers.
    log_config = None if config.log_format == "json" else uvicorn.config.LOGGING_CONFIG
    uv_config = uvicorn.Config(app, host=config.host, port=config.port, log_level="warning", lifespan="on",
                               log_config=log_config, http=header_timeout_protocol(config.http_header_timeout_s))
    async with anyio.create_task_group() as tasks:
        if config.reconcile_interval_s > 0:
            tasks.start_soon(_reconcile_forever, server, config.reconcile_interval_s)
        await uvicorn.Server(uv_config).serve()
        tasks.cancel_scope.cancel()


async def _open_ledger(server: ServerApp) -> None:
    """Reach the ledger once before listening, so its schema is created or migrated at start-up. A database
    that is down does not stop the server: reads are served, paid work is refused until it returns."""
    from ionq_mcp.guard import LedgerUnavailable

    try:
        await anyio.to_thread.run_sync(server.guard.check_ready)
    except LedgerUnavailable as down:
        print(f"ionq-mcp: warning: {down}; paid submissions are refused until it is reachable", file=sys.stderr)


async def _reconcile_forever(server: ServerApp, interval_s: float) -> None:
    from ionq_mcp.guard import run_reconciler
    from ionq_mcp.server._ops import client_job_lookup

    async def lookup() -> Any:
        return client_job_lookup(server.upstream)

    await run_reconciler(server.guard, lookup, interval_s)
