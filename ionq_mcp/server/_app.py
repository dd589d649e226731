"""The MCP server: a low-level :class:`mcp.server.Server` built from the catalog.

Tools carry the catalog's explicit ``inputSchema``/``outputSchema``, titles and annotations. Every call goes
through :func:`ionq_mcp.server._call.dispatch`. The upstream, the spend guard and the handler tables are set
up once here; the upstream's client (and the sandbox) are built on the first call.
"""

from __future__ import annotations

import inspect
from functools import partial
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import Server

from ionq_mcp._version import __version__
from ionq_mcp.server import _call, _prompts, _resources, _skill_resources
from ionq_mcp.server._config import ServerConfig
from ionq_mcp.server._results import output_schema_for
from ionq_mcp.server._upstream import Upstream

if TYPE_CHECKING:
    from ionq_mcp.catalog import Catalog, Operation

__all__ = ["ServerApp", "build_server", "build_tools", "instructions_for"]


def instructions_for(upstream: Upstream, tool_names: set[str]) -> str:
    """The server's ``instructions``: where results come from, and the facts an agent gets wrong otherwise."""
    lines = ["IonQ Quantum Cloud (API v0.4): backends, jobs, sessions and usage as tools."]
    if upstream.is_sandbox:
        lines.append(
            "SANDBOX MODE: results are SIMULATED by the ionq-mcp sandbox (no IONQ_API_KEY set, or --sandbox): "
            "no real hardware runs and nothing is billed. Say so when you report results."
        )
    estimate = "estimate_circuit_cost" if "estimate_circuit_cost" in tool_names else "get_job_estimate"
    wait = "wait_for_job" if "wait_for_job" in tool_names else "get_job"
    lines += [
        ("- Results: keys are decimal basis states with qubit 0 the least significant bit; in bitstrings qubit 0 "
         "is the RIGHTMOST character."),
        ("- Units: QIS rotations (rx, ry, rz, rxx...) in radians; native gates (gpi, gpi2, ms, zz) in turns "
         "(1 turn = 2*pi)."),
        (f"- QPU backends (qpu.*) cost real money: call {estimate} before create_job on a QPU. The simulator "
         "is free (29 qubits, exact probabilities; set noise.model to emulate a QPU)."),
        (f"- Jobs run asynchronously: create_job returns an id; use {wait} until status is completed, then "
         "get_job_probabilities. Error mitigation (debiasing) needs at least 500 shots."),
    ]
    return "\n".join(lines)


def build_tools(operations: list[Operation]) -> list[types.Tool]:
    """The ``tools/list`` entries: name, title, description, schemas and annotations from the catalog."""
    tools = []
    for op in operations:
        tools.append(
            types.Tool(
                name=op.name,
                title=op.title,
                description=op.description,
                input_schema=op.input_schema,
                output_schema=output_schema_for(op),
                annotations=types.ToolAnnotations(
                    title=op.title,
                    read_only_hint=op.read_only,
                    destructive_hint=op.destructive,
                    idempotent_hint=op.idempotent,
                    open_world_hint=op.open_world,
                ),
            )
        )
    return tools


def _build_guard(config: ServerConfig, upstream: Upstream) -> Any:
    """The spend guard, or None when the guard module is not installed."""
    try:
        from ionq_mcp.guard import Guard, GuardPolicy
    except ModuleNotFoundError as exc:
        if exc.name == "ionq_mcp.guard":
            return None
        raise
    policy = config.guard_policy if config.guard_policy is not None else GuardPolicy.from_env()
    state = config.resolved_state_dir()
    prefix = "sandbox-" if upstream.is_sandbox else ""
    return Guard(policy, state / f"{prefix}ledger.sqlite3", state / f"{prefix}audit.jsonl", scrub=upstream.redact)


class ServerApp(Server[Any]):
    """The ionq-mcp server (a low-level MCP ``Server``) plus what its handlers share.

    ``operations`` are the exposed tools by name; ``all_operations`` the whole catalog (resources use it);
    ``upstream`` says where calls go; ``guard`` is the spend guard (or None); ``handlers`` the workflow and
    guarded handlers by tool name (imported on the first call). Call :meth:`aclose` when done (closes the client and an owned sandbox).
    """

    def __init__(self, config: ServerConfig, catalog: Catalog, selected: Catalog) -> None:
        self.config = config
        self.catalog = selected
        self.all_operations: dict[str, Operation] = {op.name: op for op in catalog.operations}
        self._handlers: dict[str, _call.Handler] | None = None
        self._routes: dict[tuple[str | None, str | None], _call.Handler] | None = None
        # a workflow without an implementation cannot be called: do not advertise it
        workflows = _call.workflows_installed()
        exposed = [op for op in selected.operations if op.kind == "http" or workflows]
        self.operations: dict[str, Operation] = {op.name: op for op in exposed}
        self.tools = build_tools(exposed)
        self.upstream = Upstream(config)
        self.guard = _build_guard(config, self.upstream)
        self.prompts = _prompts.load_prompts()
        super().__init__(
            "ionq-mcp",
            version=__version__,
            title="IonQ Quantum Cloud",
            instructions=instructions_for(self.upstream, set(self.operations)),
            get_tool_input_schema=self._input_schema,
            on_list_tools=self._list_tools,
            on_call_tool=partial(_call.dispatch, self),
            on_list_resources=partial(_resources.list_resources, self),
            on_list_resource_templates=partial(_resources.list_resource_templates, self),
            on_read_resource=partial(_resources.read_resource, self),
            on_list_prompts=partial(_prompts.list_prompts, self),
            on_get_prompt=partial(_prompts.get_prompt, self),
        )
        _skill_resources.install(self)  # skill:// resources' SEP-2640 methods (skills/list, skills/get)

    @property
    def handlers(self) -> dict[str, _call.Handler]:
        """Workflow and guarded handlers by tool name, imported on first use (keeps start-up fast)."""
        if self._handlers is None:
            self._handlers = _call.load_handlers()
        return self._handlers

    def handler_for(self, op: Operation) -> _call.Handler | None:
        """The handler of ``op``: by tool name, else the handler of the catalog operation with the same method and
        path, so a capability file that exposes ``POST /jobs`` (or any guarded endpoint) under another tool name
        still goes through the spend guard instead of the plain client call."""
        handlers = self.handlers
        handler = handlers.get(op.name)
        if handler is None and op.kind == "http":
            if self._routes is None:
                self._routes = {(o.method, o.path): handlers[o.name] for o in self.all_operations.values()
                                if o.kind == "http" and o.name in handlers}
            handler = self._routes.get((op.method, op.path))
        return handler

    def _input_schema(self, name: str) -> dict | None:
        op = self.operations.get(name)
        return op.input_schema if op is not None else None

    async def _list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def aclose(self) -> None:
        """Release the upstream client and the sandbox this server built (not one handed in)."""
        await self.upstream.aclose()
        close = getattr(self.guard, "close", None)
        if callable(close):
            result = close()
            if inspect.isawaitable(result):
                await result


def build_server(config: ServerConfig | None = None) -> ServerApp:
    """Build the server for ``config`` (default: from the environment). Raises ValueError for unknown
    toolsets or tool names (the message lists the known ones)."""
    from ionq_mcp.catalog import load_catalog

    config = config if config is not None else ServerConfig.from_env()
    catalog = load_catalog(extra_files=tuple(config.extra_capability_files))
    selected = catalog.select(toolsets=config.toolsets, tools=config.tools, read_only=config.read_only)
    return ServerApp(config, catalog, selected)
