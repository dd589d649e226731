"""The MCP server: every capability operation as a validated, annotated tool.

``build_server(ServerConfig.from_env())`` gives a low-level :class:`mcp.server.Server` (a :class:`ServerApp`)
ready for ``mcp.Client(server)`` in-process, stdio or streamable HTTP (:mod:`._transports`).
"""

from ionq_mcp.server._app import ServerApp, build_server
from ionq_mcp.server._call import ToolCall
from ionq_mcp.server._cli import (
    add_call_arguments,
    add_demo_arguments,
    add_serve_arguments,
    add_tools_arguments,
    run_call,
    run_demo,
    run_serve,
    run_tools,
)
from ionq_mcp.server._config import ServerConfig

__all__ = [
    "ServerApp",
    "ServerConfig",
    "ToolCall",
    "add_call_arguments",
    "add_demo_arguments",
    "add_serve_arguments",
    "add_tools_arguments",
    "build_server",
    "run_call",
    "run_demo",
    "run_serve",
    "run_tools",
]
