"""The single path every ``tools/call`` takes from the MCP request to the upstream.

Order (docs/design.md, "Server runtime"):

1. look up the tool in the server's inventory (:mod:`._tools`); an unknown name is an ``isError`` result listing
   the known names;
2. validate the arguments (:func:`ionq_mcp.server._validation.validate_call`); any problem is an ``isError``
   result naming the field, and **nothing is sent upstream**;
3. run the handler the inventory bound to the tool at start-up (a workflow, a guarded handler of
   :mod:`._spending`, or the plain client read);
4. a ``dict``/model/list the handler returns is shaped by :mod:`._results`; a ``CallToolResult`` or
   ``InputRequiredResult`` is passed through; an exception becomes an ``isError`` result (:mod:`._errors`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

import mcp_types as types

from ionq_mcp.server import _errors, _results
from ionq_mcp.server._call import HandlerResult, ToolCall, to_jsonable

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from ionq_mcp.catalog import Operation
    from ionq_mcp.guard import Guard
    from ionq_mcp.server._tools import Inventory
    from ionq_mcp.server._upstream import Upstream

__all__ = ["Runtime", "dispatch"]


class Runtime(Protocol):
    """What a call needs of the server (a :class:`~ionq_mcp.server.ServerApp`): the inventory of exposed tools,
    the whole catalog by name, where calls go and the spend guard."""

    @property
    def inventory(self) -> Inventory: ...

    @property
    def all_operations(self) -> Mapping[str, Operation]: ...

    @property
    def upstream(self) -> Upstream: ...

    @property
    def guard(self) -> Guard: ...


async def dispatch(app: Runtime, ctx: ServerRequestContext, params: types.CallToolRequestParams) -> HandlerResult:
    """Run one ``tools/call``: validate, run the bound handler, shape. Never raises for tool-level problems:
    they come back as ``isError`` results."""
    from ionq_mcp.server._validation import format_problems, validate_call  # jsonschema: loaded on the first call

    upstream = app.upstream
    bound = app.inventory.get(params.name)
    if bound is None:
        known = ", ".join(sorted(app.inventory))
        if params.name in app.all_operations:
            return _errors.text_error(
                f"Tool {params.name!r} is disabled on this server (its --toolsets, --tools or --read-only "
                f"settings leave it out; the user can change them). Enabled tools: {known}."
            )
        return _errors.text_error(upstream.redact(f"Unknown tool {params.name!r}. Available tools: {known}."))
    op = bound.op
    arguments = dict(params.arguments or {})
    problems = validate_call(op, arguments)
    if problems:
        return _errors.validation_error(op, format_problems(op, problems), problems, upstream)
    try:
        client = await upstream.client()
        call = ToolCall(
            op=op, arguments=arguments, client=client, guard=app.guard, upstream=upstream, request=ctx, params=params
        )
        outcome = await bound.handler(call)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an isError result the agent can act on
        return _errors.error_result(op, exc, upstream)
    if isinstance(outcome, (types.CallToolResult, types.InputRequiredResult)):
        return outcome
    data = to_jsonable(outcome)
    summary = str(data.get("summary", "")) if bound.own_summary and isinstance(data, dict) else None
    return _results.shape_result(op, data, upstream, summary=summary)
