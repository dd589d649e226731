"""The MCP server: a low-level :class:`mcp.server.Server` built from the catalog.

Tools carry the catalog's explicit ``inputSchema``/``outputSchema``, titles and annotations. Every call goes
through :func:`ionq_mcp.server._dispatch.dispatch`. :func:`build_server` builds the upstream, the spend guard and the
tool inventory (:mod:`._tools`: every tool bound to its handler) once; the upstream's client (and the sandbox)
are built on the first call.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp.server import Server

from ionq_mcp import circuits
from ionq_mcp._version import __version__
from ionq_mcp.guard import Guard, GuardPolicy
from ionq_mcp.server import _dispatch, _prompts, _resources, _skill_resources
from ionq_mcp.server._config import ServerConfig
from ionq_mcp.server._tools import Inventory, build_inventory
from ionq_mcp.server._upstream import Upstream

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ionq_mcp.catalog import Catalog, Operation, Role

__all__ = ["ServerApp", "build_guard", "build_server", "instructions_for"]


def _tool_for(role: Role, exposed: Iterable[Operation], catalog: Iterable[Operation]) -> str:
    """The tool the instructions name for ``role``: an exposed workflow, else an exposed API tool, else the
    catalog's API tool (the instructions still name it, so the user knows what to enable)."""
    shown = sorted((op for op in exposed if op.role == role), key=lambda op: op.kind != "workflow")
    fallback = [op for op in catalog if op.role == role and op.kind == "http"]
    chosen = (shown or fallback)
    return chosen[0].name if chosen else role


def instructions_for(upstream: Upstream, exposed: Iterable[Operation], catalog: Iterable[Operation]) -> str:
    """The server's ``instructions``: where results come from, and the facts an agent gets wrong otherwise.
    Tools are named by their role in the basic loop (``Operation.role``), as ``exposed`` and ``catalog`` name
    them."""
    lines = ["IonQ Quantum Cloud (API v0.4): backends, jobs, sessions and usage as tools."]
    if upstream.is_sandbox:
        lines.append(
            "SANDBOX MODE: results are SIMULATED by the ionq-mcp sandbox (no IONQ_API_KEY set, or --sandbox): "
            "no real hardware runs and nothing is billed. Say so when you report results."
        )
    exposed, catalog = list(exposed), list(catalog)
    estimate, wait, submit, results = (_tool_for(role, exposed, catalog)
                                       for role in ("estimate", "status", "submit", "results"))
    lines += [
        ("- Results: keys are decimal basis states with qubit 0 the least significant bit; in bitstrings qubit 0 "
         "is the RIGHTMOST character."),
        ("- Units: QIS rotations (rx, ry, rz, rxx...) in radians; native gates (gpi, gpi2, ms, zz) in turns "
         "(1 turn = 2*pi)."),
        (f"- QPU backends (qpu.*) cost real money: call {estimate} before {submit} on a QPU. The simulator "
         f"is free ({circuits.BACKEND_QUBITS[circuits.SIMULATOR]} qubits, exact probabilities; set noise.model "
         "to emulate a QPU)."),
        (f"- Jobs run asynchronously: {submit} returns an id; use {wait} until status is completed, then "
         f"{results}. Error mitigation (debiasing) needs at least {circuits.MIN_DEBIASING_SHOTS} "
         "shots."),
    ]
    return "\n".join(lines)


def build_guard(config: ServerConfig, upstream: Upstream) -> Guard:
    """The spend guard for ``config``: its policy (or the environment's), ledger and audit files in the state
    directory (``sandbox-`` prefixed for the sandbox, so simulated spend never mixes with real spend)."""
    policy = config.guard_policy if config.guard_policy is not None else GuardPolicy.from_env()
    state = config.resolved_state_dir()
    prefix = "sandbox-" if upstream.is_sandbox else ""
    return Guard(policy, state / f"{prefix}ledger.sqlite3", state / f"{prefix}audit.jsonl", scrub=upstream.redact)


class ServerApp(Server[Any]):
    """The ionq-mcp server (a low-level MCP ``Server``) plus what its handlers share.

    ``inventory`` binds every exposed tool to its handler (:mod:`._tools`); ``operations`` are the exposed
    operations by name and ``all_operations`` the whole catalog (resources use it); ``upstream`` says where
    calls go; ``guard`` is the spend guard every state-changing handler consults. Raises
    :class:`~ionq_mcp.server._tools.InventoryError` when a tool cannot be bound to its handler. Call
    :meth:`aclose` when done (closes the client, an owned sandbox and the guard's ledger).
    """

    def __init__(self, config: ServerConfig, catalog: Catalog, selected: Catalog, *, upstream: Upstream,
                 guard: Guard) -> None:
        self.config = config
        self.catalog = selected
        self.all_operations: dict[str, Operation] = {op.name: op for op in catalog.operations}
        self.inventory: Inventory = build_inventory(selected.operations)
        self.operations: dict[str, Operation] = {name: bound.op for name, bound in self.inventory.items()}
        self.tools = [bound.tool for bound in self.inventory.values()]
        self.upstream = upstream
        self.guard = guard
        self.prompts = _prompts.load_prompts()
        super().__init__(
            "ionq-mcp",
            version=__version__,
            title="IonQ Quantum Cloud",
            instructions=instructions_for(self.upstream, self.operations.values(), catalog.operations),
            get_tool_input_schema=self._input_schema,
            on_list_tools=self._list_tools,
            on_call_tool=partial(_dispatch.dispatch, self),
            on_list_resources=partial(_resources.list_resources, self),
            on_list_resource_templates=partial(_resources.list_resource_templates, self),
            on_read_resource=partial(_resources.read_resource, self),
            on_list_prompts=partial(_prompts.list_prompts, self.prompts),
            on_get_prompt=partial(_prompts.get_prompt, self.prompts),
        )
        _skill_resources.install(self)  # skill:// resources' SEP-2640 methods (skills/list, skills/get)

    def _input_schema(self, name: str) -> dict | None:
        op = self.operations.get(name)
        return op.input_schema if op is not None else None

    async def _list_tools(self, ctx: Any, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools)

    async def aclose(self) -> None:
        """Release the upstream client and the sandbox this server built (not one handed in)."""
        await self.upstream.aclose()
        self.guard.close()


def build_server(config: ServerConfig | None = None) -> ServerApp:
    """Build the server for ``config`` (default: from the environment). Raises ValueError for unknown
    toolsets or tool names (the message lists the known ones) and :class:`~ionq_mcp.server._tools.InventoryError`
    (a ValueError) when a tool cannot be bound to its handler."""
    from ionq_mcp.catalog import load_catalog

    config = config if config is not None else ServerConfig.from_env()
    catalog = load_catalog(extra_files=tuple(config.extra_capability_files))
    selected = catalog.select(toolsets=config.toolsets, tools=config.tools, read_only=config.read_only)
    upstream = Upstream(config)
    return ServerApp(config, catalog, selected, upstream=upstream, guard=build_guard(config, upstream))
