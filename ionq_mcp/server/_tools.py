"""The tool inventory: where every tool comes from, which handler runs it, and whether the spend guard sees it.

Read this file to answer "what happens when tool X is called?":

* **Where it comes from**: the catalog (:mod:`ionq_mcp.catalog`) builds one :class:`~ionq_mcp.catalog.Operation`
  per entry of ``capabilities/*.yaml`` (plus ``--capabilities`` files); ``op.source`` names the file.
* **Which handler runs it**, decided once, at start-up, by :func:`build_inventory`:

  1. an HTTP operation whose wire operation (method + path) is in :data:`GUARDED` runs that handler of
     :mod:`._spending`, whatever its tool name, capability file or toolset: the spend guard cannot be skipped
     by exposing ``POST /jobs`` under another name;
  2. any other HTTP operation that changes state (not ``GET``) is refused at start-up (:class:`InventoryError`):
     a state-changing endpoint needs a guarded handler here before it can be a tool;
  3. a ``GET`` runs the client's method for it (:data:`READS`), or the client's generic request for a read the
     client does not model (a new read-only capability file needs no code);
  4. a workflow (``x-handler: workflow``) runs the handler :data:`WORKFLOWS` binds to its operation id; a
     workflow without one is refused at start-up.

* **Is it guarded**: :attr:`BoundTool.guarded` (true for every handler that consults the spend guard: checks,
  ledger, confirmation or audit).

The inventory is an immutable mapping built once per server; nothing is looked up by name at call time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ionq_mcp.server import _spending, _workflows
from ionq_mcp.server._results import output_schema_for

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation
    from ionq_mcp.client import IonQClient
    from ionq_mcp.server._call import Handler, HandlerResult, ToolCall

__all__ = [
    "GUARDED",
    "READS",
    "WORKFLOWS",
    "BoundTool",
    "Inventory",
    "InventoryError",
    "build_inventory",
    "read_handler",
    "tool_entry",
]

Route = tuple[str, str]  # (METHOD, OpenAPI path template)


class InventoryError(ValueError):
    """A tool cannot be bound to a handler: the server refuses to start (names the tool, its file and why)."""


@dataclass(frozen=True)
class BoundTool:
    """One exposed tool: its operation, the handler that runs it and how its result is shaped."""

    op: Operation
    handler: Handler
    #: The handler consults the spend guard (policy, ledger, confirmation or audit).
    guarded: bool
    #: The handler writes its own one-line ``summary`` (workflows); otherwise the generic one is used.
    own_summary: bool
    #: The ``tools/list`` entry.
    tool: types.Tool


#: Wire operations that spend money, change or destroy state, or touch the ledger -> their guarded handler.
GUARDED: Mapping[Route, Handler] = MappingProxyType({
    ("POST", "/jobs"): _spending.create_job,
    ("DELETE", "/jobs"): _spending.delete_jobs,
    ("PUT", "/jobs/status/cancel"): _spending.cancel_many_jobs,
    ("PUT", "/jobs/{UUID}/status/cancel"): _spending.cancel_job,
    ("DELETE", "/jobs/{UUID}"): _spending.delete_job,
    ("GET", "/jobs/{UUID}/cost"): _spending.get_job_cost,
    ("POST", "/sessions"): _spending.create_session,
    ("POST", "/sessions/{session_id}/end"): _spending.end_session,
})

_Read = Callable[["IonQClient", Mapping[str, Any]], Awaitable[Any]]

#: Read-only wire operations -> the client method that reads them (typed models, pagination, wire names).
READS: Mapping[Route, _Read] = MappingProxyType({
    ("GET", "/whoami"): lambda c, a: c.whoami(**a),
    ("GET", "/backends"): lambda c, a: c.list_backends(**a),
    ("GET", "/backends/{backend}"): lambda c, a: c.get_backend(**a),
    ("GET", "/backends/{backend}/characterizations"): lambda c, a: c.get_backend_characterizations(**a),
    ("GET", "/backends/{backend}/characterizations/{UUID}"): lambda c, a: c.get_backend_characterization(**a),
    ("GET", "/jobs"): lambda c, a: c.list_jobs(**a),
    ("GET", "/jobs/{UUID}"): lambda c, a: c.get_job(**a),
    ("GET", "/jobs/estimate"): lambda c, a: c.get_job_estimate(**a),
    ("GET", "/jobs/{UUID}/circuits/{lang}"): lambda c, a: c.get_job_circuits(**a),
    ("GET", "/jobs/{UUID}/results/probabilities"): lambda c, a: c.get_job_probabilities(**a),
    ("GET", "/jobs/{UUID}/variants/{variantId}/results/probabilities"):
        lambda c, a: c.get_variant_probabilities(**a),
    ("GET", "/jobs/{UUID}/variants/{variantId}/results/histogram"): lambda c, a: c.get_variant_histogram(**a),
    ("GET", "/jobs/{UUID}/variants/{variantId}/results/shots"): lambda c, a: c.get_variant_shots(**a),
    ("GET", "/sessions"): lambda c, a: c.list_sessions(**a),
    ("GET", "/sessions/{session_id}"): lambda c, a: c.get_session(**a),
    ("GET", "/sessions/{session_id}/jobs"): lambda c, a: c.list_session_jobs(**a),
    ("GET", "/organizations/{organization_id}/usage"): lambda c, a: c.get_organization_usage(**a),
})

#: Workflow operation id (``capabilities/ionq-mcp-workflows.yaml``) -> (handler, consults the spend guard).
WORKFLOWS: Mapping[str, tuple[Handler, bool]] = MappingProxyType({
    "estimateCircuitCost": (_workflows.estimate_circuit_cost, False),
    "runCircuit": (_workflows.run_circuit, True),  # submits through _spending.submit_job
    "waitForJob": (_workflows.wait_for_job, True),  # reconciles the ledger with the billed cost
    "getJobResults": (_workflows.get_job_results, True),  # idem
    "compareBackends": (_workflows.compare_backends, False),
})


def _reader(route: Route) -> Handler:
    read = READS.get(route)

    async def client_read(call: ToolCall) -> HandlerResult:
        if read is not None:
            return await read(call.client, call.arguments)
        op = call.op
        path_params, query, body = op.split(call.arguments)
        return await call.client.request(op.method, op.render_path(path_params), params=query or None, json=body)

    return client_read


def read_handler(op: Operation) -> Handler:
    """The plain client read of a ``GET`` operation (resources use it for operations that are not exposed)."""
    if op.kind != "http" or op.method != "GET":
        raise InventoryError(f"{op.name} is not an HTTP read")
    return _reader((op.method, str(op.path)))


def _bind(op: Operation, guarded: Mapping[Route, Handler], workflows: Mapping[str, tuple[Handler, bool]]) \
        -> tuple[Handler, bool]:
    where = f"tool {op.name!r} ({op.source or 'catalog'}, operation {op.operation_id!r})"
    if op.kind == "workflow":
        if op.operation_id not in workflows:
            raise InventoryError(f"{where} is a workflow without a handler; workflows with handlers: "
                                 f"{', '.join(workflows)}.")
        return workflows[op.operation_id]
    route = (str(op.method), str(op.path))
    if route in guarded:
        return guarded[route], True
    if op.method != "GET":
        raise InventoryError(f"{where} changes state ({op.method} {op.path}) but no guarded handler is bound to that "
                             "wire operation: add one to ionq_mcp/server/_tools.py GUARDED before exposing it.")
    return _reader(route), False


def tool_entry(op: Operation) -> types.Tool:
    """The ``tools/list`` entry of ``op``: name, title, description, schemas and annotations from the catalog."""
    return types.Tool(
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


Inventory = Mapping[str, BoundTool]


def build_inventory(operations: Iterable[Operation], *, guarded: Mapping[Route, Handler] = GUARDED,
                    workflows: Mapping[str, tuple[Handler, bool]] = WORKFLOWS) -> Inventory:
    """Bind every operation to its handler, in catalog order; an immutable mapping by tool name.

    Raises :class:`InventoryError` (the server does not start) for a state-changing operation without a
    guarded handler or a workflow without a handler. ``guarded`` and ``workflows`` default to this module's
    tables (tests pass smaller ones to prove the refusal).
    """
    bound: dict[str, BoundTool] = {}
    for op in operations:
        handler, is_guarded = _bind(op, guarded, workflows)
        bound[op.name] = BoundTool(op=op, handler=handler, guarded=is_guarded, own_summary=op.kind == "workflow",
                                   tool=tool_entry(op))
    return MappingProxyType(bound)
