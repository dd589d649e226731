"""One tool call, and the single path every call takes from the MCP request to the upstream.

Order (docs/design.md, "Server runtime"):

1. look up the tool in the server's inventory (:mod:`._tools`); an unknown name is an ``isError`` result listing
   the known names;
2. validate the arguments (:func:`ionq_mcp.server._validation.validate_call`); any problem is an ``isError``
   result naming the field, and **nothing is sent upstream**;
3. run the handler the inventory bound to the tool at start-up (a workflow, a guarded handler of
   :mod:`._spending`, or the plain client call);
4. a ``dict``/model/list the handler returns is shaped by :mod:`._results`; a ``CallToolResult`` or
   ``InputRequiredResult`` is passed through; an exception becomes an ``isError`` result (:mod:`._errors`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types

from ionq_mcp.server import _errors, _results

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from ionq_mcp.catalog import Operation
    from ionq_mcp.client import IonQClient
    from ionq_mcp.guard import Guard
    from ionq_mcp.server._app import ServerApp
    from ionq_mcp.server._upstream import Upstream

__all__ = ["Handler", "HandlerResult", "ToolCall", "dispatch", "to_jsonable"]

_log = logging.getLogger(__name__)

HandlerResult = types.CallToolResult | types.InputRequiredResult | dict


@dataclass
class ToolCall:
    """Everything a handler needs to carry out one validated tool call.

    ``arguments`` have passed validation. ``upstream`` says where calls go (``.is_sandbox``, ``.base_url``);
    it never exposes the API key. ``request`` is the SDK's per-request context (session, protocol_version,
    request_id) and ``params`` the raw ``tools/call`` params (``input_responses``/``request_state`` on a
    2026-07-28 retry).
    """

    op: Operation
    arguments: dict
    client: IonQClient
    guard: Guard
    upstream: Upstream
    request: ServerRequestContext
    params: types.CallToolRequestParams
    #: The tools this server exposes, and every tool of the catalog: advice in results names only tools the
    #: agent can call (None: all).
    tool_names: frozenset[str] | None = None
    known_tools: frozenset[str] | None = None

    async def progress(self, progress: float, total: float | None, message: str) -> None:
        """Report progress to the caller (a no-op when the caller did not ask for progress).

        Progress is advisory: a transport that cannot deliver it never fails the call.
        """
        session = getattr(self.request, "session", None)
        if session is None:
            return
        try:
            await session.report_progress(progress, total, message)
        except Exception as exc:  # noqa: BLE001 - progress must never break a call
            _log.debug("progress not delivered: %s", exc)


Handler = Callable[[ToolCall], Awaitable[HandlerResult]]


def to_jsonable(value: Any) -> Any:
    """Client return values (pydantic models, lists and dicts of them) as plain JSON values (wire names)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", by_alias=True)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    return value


async def dispatch(app: ServerApp, ctx: ServerRequestContext, params: types.CallToolRequestParams) -> HandlerResult:
    """Run one ``tools/call``: validate, run the bound handler, shape. Never raises for tool-level problems:
    they come back as ``isError`` results."""
    from ionq_mcp.server._validation import format_problems, validate_call

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
            op=op, arguments=arguments, client=client, guard=app.guard, upstream=upstream, request=ctx, params=params,
            tool_names=app.tool_names, known_tools=frozenset(app.all_operations),
        )
        outcome = await bound.handler(call)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an isError result the agent can act on
        return _errors.error_result(op, exc, upstream, exposed=app.tool_names, known=app.all_operations)
    if isinstance(outcome, (types.CallToolResult, types.InputRequiredResult)):
        return outcome
    data = to_jsonable(outcome)
    summary = str(data.get("summary", "")) if bound.own_summary and isinstance(data, dict) else None
    return _results.shape_result(op, data, upstream, summary=summary)
