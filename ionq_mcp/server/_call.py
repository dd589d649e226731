"""One tool call, and the single path every call takes from the MCP request to the upstream.

Order (docs/design.md, "Server runtime"):

1. look up the operation; an unknown name is an ``isError`` result listing the known names;
2. validate the arguments (:func:`ionq_mcp.server._validation.validate_call`); any problem is an ``isError``
   result naming the field, and **nothing is sent upstream**;
3. ``WORKFLOW_HANDLERS[op.name]`` (``_workflows.py``), then ``GUARDED_HANDLERS[op.name]`` (``_guarded.py``),
   then the guarded handler of the catalog operation with the same method and path (a capability file that
   re-exposes ``POST /jobs`` under another name cannot bypass the spend guard), then the client's named method ``client.<op.name>(**arguments)``, then the generic
   ``client.request(method, path, params=query, json=body)`` for operations the client does not know
   (a new capability file needs no code);
4. a ``dict``/model/list the handler returns is shaped by :mod:`._results`; a ``CallToolResult`` or
   ``InputRequiredResult`` is passed through; an exception becomes an ``isError`` result (:mod:`._errors`).
"""

from __future__ import annotations

import importlib
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
    from ionq_mcp.server._upstream import Upstream

__all__ = ["Handler", "HandlerResult", "ToolCall", "dispatch", "load_handlers", "to_jsonable", "workflows_installed"]

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
    guard: Any  # ionq_mcp.guard.Guard, or None when the guard module is not installed
    upstream: Upstream
    request: ServerRequestContext
    params: types.CallToolRequestParams

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

#: (module, attribute) contributing handlers; earlier entries win (workflows before guarded operations).
_HANDLER_SOURCES: tuple[tuple[str, str], ...] = (
    ("ionq_mcp.server._workflows", "WORKFLOW_HANDLERS"),
    ("ionq_mcp.server._guarded", "GUARDED_HANDLERS"),
)


def workflows_installed() -> bool:
    """True when the workflow module exists (checked without importing it)."""
    import importlib.util

    return importlib.util.find_spec(_HANDLER_SOURCES[0][0]) is not None


def load_handlers() -> dict[str, Handler]:
    """Merge the handler tables of the optional modules (workflows win over guarded operations).

    A module that does not exist is skipped; a module that exists but fails to import raises, because
    silently dropping the spend guard in front of ``create_job`` would be worse than not starting.
    """
    merged: dict[str, Handler] = {}
    for module_name, attribute in reversed(_HANDLER_SOURCES):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        merged.update(getattr(module, attribute, {}) or {})
    return merged


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


async def call_client(call: ToolCall) -> Any:
    """The plain upstream call: the client's named method when it has one, else the generic request."""
    op = call.op
    if op.kind != "http":
        raise _errors.ToolUnavailable(
            f"{op.name} is a workflow tool and its implementation is not installed in this build."
        )
    method = getattr(call.client, op.name, None)
    if callable(method):
        return await method(**call.arguments)
    path_params, query, body = op.split(call.arguments)
    return await call.client.request(op.method, op.render_path(path_params), params=query or None, json=body)


async def dispatch(app: Any, ctx: ServerRequestContext, params: types.CallToolRequestParams) -> HandlerResult:
    """Run one ``tools/call``: validate, route, shape. ``app`` is the :class:`ServerApp` (catalog, upstream,
    guard, handlers). Never raises for tool-level problems: they come back as ``isError`` results."""
    from ionq_mcp.server._validation import format_problems, validate_call

    upstream = app.upstream
    op = app.operations.get(params.name)
    if op is None:
        known = ", ".join(sorted(app.operations))
        if params.name in app.all_operations:
            return _errors.text_error(
                f"Tool {params.name!r} is disabled on this server (its --toolsets, --tools or --read-only "
                f"settings leave it out; the user can change them). Enabled tools: {known}."
            )
        return _errors.text_error(upstream.redact(f"Unknown tool {params.name!r}. Available tools: {known}."))
    arguments = dict(params.arguments or {})
    problems = validate_call(op, arguments)
    if problems:
        return _errors.validation_error(op, format_problems(op, problems), problems, upstream)
    try:
        client = await upstream.client()
        call = ToolCall(
            op=op, arguments=arguments, client=client, guard=app.guard, upstream=upstream, request=ctx, params=params
        )
        handler = app.handler_for(op)
        outcome = await handler(call) if handler is not None else await call_client(call)
    except Exception as exc:  # noqa: BLE001 - every failure becomes an isError result the agent can act on
        return _errors.error_result(op, exc, upstream)
    if isinstance(outcome, (types.CallToolResult, types.InputRequiredResult)):
        return outcome
    return _results.shape_result(op, to_jsonable(outcome), upstream)
