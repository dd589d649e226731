"""Server configuration from the environment and the command line.

Environment variables (the command line wins over them):

==========================  ==========================================================================
``IONQ_API_KEY``            IonQ API key. Unset: the embedded sandbox answers (simulated results).
``IONQ_API_URL``            Base URL of the API (default ``https://api.ionq.co/v0.4``), e.g. a running
                            ``ionq-mcp sandbox``.
``IONQ_MCP_SANDBOX``        ``1`` forces the in-process sandbox even when a key is set.
``IONQ_MCP_SANDBOX_DB``     Sandbox database: a path, or ``:memory:`` (default: ``<state dir>/sandbox.sqlite3``).
``IONQ_MCP_TOOLSETS``       Comma list of toolsets to expose (backends, jobs, sessions, usage, workflows).
``IONQ_MCP_TOOLS``          Comma list of tool names to expose (applied after the toolsets).
``IONQ_MCP_READ_ONLY``      ``1`` drops every tool that changes state.
``IONQ_MCP_HTTP_TOKEN``     Bearer token required by the streamable HTTP transport.
``IONQ_MCP_ALLOWED_HOSTS``  Extra Host header values allowed over HTTP (comma list, ``host:port`` or ``host:*``).
``IONQ_MCP_ALLOWED_ORIGINS`` Extra Origin values allowed over HTTP (comma list).
``IONQ_MCP_STATE_DIR``      Where the sandbox database, spend ledger and audit log live.
``IONQ_MCP_LEDGER_URL``     ``postgresql://...``: spend ledger and audit trail in PostgreSQL, shared by replicas
                            (default: SQLite + JSON lines in the state directory).
``IONQ_MCP_REPLICAS``       How many replicas serve this deployment (default 1). Above 1, HTTP is stateless by
                            default and ``IONQ_MCP_STATE_KEY`` is required.
``IONQ_MCP_STATE_KEY``      Secret that seals confirmation state, the same on every replica (>= 32 characters;
                            a comma list during rotation: the first seals, all are accepted).
``IONQ_MCP_STATELESS``      ``1``: stateless streamable HTTP (no sessions; any replica serves any request).
``IONQ_MCP_METRICS_TOKEN``  Bearer token for ``/metrics`` (default: the HTTP token).
``IONQ_MCP_LOG_FORMAT``     ``json`` for one JSON object per log line (default ``text``).
``IONQ_MCP_LEASE_S``        Seconds a reservation belongs to the replica that made it before reconciliation may
                            settle it (default 300; must exceed the longest submission).
``IONQ_MCP_RECONCILE_INTERVAL_S`` Seconds between reconciliations of abandoned reservations while serving HTTP
                            (default 60; 0 turns it off).
``IONQ_MCP_LOG_LEVEL``      The server's own log level on stderr (debug, info, warning, error, critical).
``IONQ_MCP_HTTP_HEADER_TIMEOUT_S`` Seconds an HTTP client has to send its request headers (default 30).
``IONQ_MCP_HTTP_SESSION_IDLE_S``   Seconds after which an idle streamable HTTP session is closed (default 1800).
==========================  ==========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ionq_mcp._env import parse_bool, parse_log_level, parse_seconds

__all__ = ["ServerConfig", "parse_bool", "parse_list"]


def _redacted_url(url: str | None) -> str | None:
    if url is None:
        return None
    from ionq_mcp.guard import redact_url

    return redact_url(url)


def _parse_int(var: str, raw: str | None, default: int) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw.strip())
    except ValueError:
        raise ValueError(f"{var}={raw!r} is not a whole number") from None


def _parse_log_format(raw: str | None) -> Literal["text", "json"]:
    value = (raw or "text").strip().lower()
    if value not in ("text", "json"):
        raise ValueError(f"IONQ_MCP_LOG_FORMAT={raw!r}: allowed values are text and json")
    return "json" if value == "json" else "text"



def parse_list(value: str | None) -> tuple[str, ...] | None:
    """``"a, b,,c"`` -> ``("a", "b", "c")``; ``None`` or blank -> ``None`` (no restriction)."""
    if value is None:
        return None
    items = tuple(part.strip() for part in value.split(",") if part.strip())
    return items or None


@dataclass
class ServerConfig:
    """Everything :func:`ionq_mcp.server.build_server` needs. Never printed with the key (see ``__repr__``).

    ``sandbox`` lets a caller (tests, benchmarks) hand in a :class:`ionq_mcp.sandbox.Sandbox` it owns; the
    server then talks to it in-process and never closes it. ``client_options`` are passed to
    :class:`ionq_mcp.client.IonQClient` (e.g. a faster ``retry`` policy in tests).
    """

    api_key: str | None = None
    base_url: str | None = None
    force_sandbox: bool = False
    sandbox_db: str | None = None
    #: Embedded sandbox only: jobs run in a background worker process that outlives this one (one-shot CLI calls).
    sandbox_detached: bool = False
    sandbox: Any = None
    toolsets: tuple[str, ...] | None = None
    tools: tuple[str, ...] | None = None
    read_only: bool = False
    state_dir: Path | None = None
    extra_capability_files: tuple[Path, ...] = ()
    guard_policy: Any = None
    client_options: dict[str, Any] = field(default_factory=dict)
    transport: Literal["stdio", "http"] = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    http_token: str | None = None
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    ledger_url: str | None = None
    replicas: int = 1
    state_key: str | None = None
    stateless: bool | None = None  # None: stateless when replicas > 1
    metrics_token: str | None = None
    log_format: Literal["text", "json"] = "text"
    reconcile_interval_s: float = 60.0
    lease_s: float = 300.0
    #: Seconds a client has to finish sending its request headers before the connection is dropped.
    http_header_timeout_s: float = 30.0
    #: Seconds without a request after which a stateful streamable HTTP session is closed.
    http_session_idle_s: float = 1800.0
    #: The server's own log level on stderr (None: warnings and errors only, the Python default).
    log_level: str | None = None

    def __repr__(self) -> str:
        shown = {
            "api_key": "***" if self.api_key else None,
            "base_url": self.base_url,
            "force_sandbox": self.force_sandbox,
            "toolsets": self.toolsets,
            "tools": self.tools,
            "read_only": self.read_only,
            "transport": self.transport,
            "host": self.host,
            "port": self.port,
            "http_token": "***" if self.http_token else None,
            "ledger_url": _redacted_url(self.ledger_url),
            "replicas": self.replicas,
            "state_key": "***" if self.state_key else None,
        }
        return "ServerConfig(" + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def resolved_state_dir(self) -> Path:
        """The state directory (created on first use)."""
        if self.state_dir is not None:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            return self.state_dir
        from ionq_mcp._paths import state_dir

        return state_dir()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> ServerConfig:
        """A config from environment variables (see the module docstring), then ``overrides``."""
        env = os.environ if environ is None else environ
        config = cls(
            api_key=env.get("IONQ_API_KEY") or None,
            base_url=env.get("IONQ_API_URL") or None,
            force_sandbox=parse_bool("IONQ_MCP_SANDBOX", env.get("IONQ_MCP_SANDBOX")),
            sandbox_db=env.get("IONQ_MCP_SANDBOX_DB") or None,
            toolsets=parse_list(env.get("IONQ_MCP_TOOLSETS")),
            tools=parse_list(env.get("IONQ_MCP_TOOLS")),
            read_only=parse_bool("IONQ_MCP_READ_ONLY", env.get("IONQ_MCP_READ_ONLY")),
            state_dir=Path(env["IONQ_MCP_STATE_DIR"]) if env.get("IONQ_MCP_STATE_DIR") else None,
            http_token=env.get("IONQ_MCP_HTTP_TOKEN") or None,
            allowed_hosts=parse_list(env.get("IONQ_MCP_ALLOWED_HOSTS")) or (),
            allowed_origins=parse_list(env.get("IONQ_MCP_ALLOWED_ORIGINS")) or (),
            ledger_url=env.get("IONQ_MCP_LEDGER_URL") or None,
            replicas=_parse_int("IONQ_MCP_REPLICAS", env.get("IONQ_MCP_REPLICAS"), 1),
            state_key=env.get("IONQ_MCP_STATE_KEY") or None,
            stateless=(parse_bool("IONQ_MCP_STATELESS", env["IONQ_MCP_STATELESS"])
                       if env.get("IONQ_MCP_STATELESS") else None),
            metrics_token=env.get("IONQ_MCP_METRICS_TOKEN") or None,
            log_format=_parse_log_format(env.get("IONQ_MCP_LOG_FORMAT")),
            reconcile_interval_s=parse_seconds("IONQ_MCP_RECONCILE_INTERVAL_S",
                                               env.get("IONQ_MCP_RECONCILE_INTERVAL_S"), 60.0, zero_ok=True),
            lease_s=parse_seconds("IONQ_MCP_LEASE_S", env.get("IONQ_MCP_LEASE_S"), 300.0, zero_ok=True),
            http_header_timeout_s=parse_seconds("IONQ_MCP_HTTP_HEADER_TIMEOUT_S",
                                                env.get("IONQ_MCP_HTTP_HEADER_TIMEOUT_S"), 30.0),
            http_session_idle_s=parse_seconds("IONQ_MCP_HTTP_SESSION_IDLE_S",
                                              env.get("IONQ_MCP_HTTP_SESSION_IDLE_S"), 1800.0),
            log_level=parse_log_level("IONQ_MCP_LOG_LEVEL", env.get("IONQ_MCP_LOG_LEVEL")),
        )
        return replace(config, **overrides) if overrides else config

    @property
    def stateless_http(self) -> bool:
        """Serve streamable HTTP without sessions: explicit setting, else whenever there are several replicas."""
        return self.stateless if self.stateless is not None else self.replicas > 1

    def check_replicas(self) -> None:
        """Raise ValueError when the replica settings cannot work: several replicas need one state key."""
        if self.replicas < 1:
            raise ValueError(f"replicas: must be >= 1, got {self.replicas}")
        if self.ledger_url is not None:
            from ionq_mcp.guard import is_postgres_url, redact_url

            if not is_postgres_url(self.ledger_url):
                raise ValueError(f"IONQ_MCP_LEDGER_URL / --ledger-url: expected postgresql://user@host/db, got "
                                 f"{redact_url(self.ledger_url)!r}")
        if self.replicas > 1 and not self.state_key:
            raise ValueError(
                f"{self.replicas} replicas are declared (IONQ_MCP_REPLICAS / --replicas) but IONQ_MCP_STATE_KEY is "
                "not set: every replica must seal confirmation state with the same secret, or a confirmation "
                "answered through another replica is never accepted. Set IONQ_MCP_STATE_KEY to the same long random "
                "value on every replica (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")

    @classmethod
    def from_args(cls, args: Any, environ: Mapping[str, str] | None = None) -> ServerConfig:
        """Environment first, then the command-line flags that were given (``argparse.Namespace``)."""
        config = cls.from_env(environ)
        overrides: dict[str, Any] = {}
        if getattr(args, "toolsets", None):
            overrides["toolsets"] = parse_list(args.toolsets)
        if getattr(args, "tools", None):
            overrides["tools"] = parse_list(args.tools)
        if getattr(args, "read_only", False):
            overrides["read_only"] = True
        if getattr(args, "sandbox", False):
            overrides["force_sandbox"] = True
        if getattr(args, "sandbox_db", None):
            overrides["sandbox_db"] = args.sandbox_db
        if getattr(args, "capabilities", None):
            overrides["extra_capability_files"] = tuple(Path(p) for p in args.capabilities)
        if getattr(args, "log_level", None):
            overrides["log_level"] = parse_log_level("--log-level", args.log_level)
        for name in ("transport", "host", "port", "ledger_url", "replicas", "log_format"):
            if getattr(args, name, None) is not None:
                overrides[name] = getattr(args, name)
        if getattr(args, "stateless", None) is not None:
            overrides["stateless"] = args.stateless
        guard_flags = ("allow_qpu", "max_job_cost", "daily_budget", "confirm_above", "bulk_confirm_above")
        if any(getattr(args, name, None) is not None for name in guard_flags):
            from ionq_mcp.guard import policy_from_args

            overrides["guard_policy"] = policy_from_args(args, environ)
        return replace(config, **overrides) if overrides else config
