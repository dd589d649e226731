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
==========================  ==========================================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from ionq_mcp._env import parse_bool

__all__ = ["ServerConfig", "parse_bool", "parse_list"]



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
        )
        return replace(config, **overrides) if overrides else config

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
        for name in ("transport", "host", "port"):
            if getattr(args, name, None) is not None:
                overrides[name] = getattr(args, name)
        guard_flags = ("allow_qpu", "max_job_cost", "daily_budget", "confirm_above", "bulk_confirm_above")
        if any(getattr(args, name, None) is not None for name in guard_flags):
            from ionq_mcp.guard import policy_from_args

            overrides["guard_policy"] = policy_from_args(args, environ)
        return replace(config, **overrides) if overrides else config
