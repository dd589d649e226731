"""Resources: backends and jobs as JSON documents an MCP client can attach to a conversation.

``ionq://backends`` (every backend), and the templates ``ionq://backends/{backend}`` and
``ionq://jobs/{job_id}``; plus the skill pack's ``skill://`` files (:mod:`._skill_resources`). A read goes through the same validation as the matching tool (``get_backend``,
``get_job``), so a malformed id is refused before anything is sent; upstream failures become MCP errors whose
message carries the same hint a tool error would.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import mcp_types as types
from mcp import MCPError

from ionq_mcp.server import _skill_resources

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from ionq_mcp.server._dispatch import Runtime

__all__ = ["RESOURCES", "TEMPLATES", "list_resource_templates", "list_resources", "read_resource"]

_MIME = "application/json"

RESOURCES: tuple[types.Resource, ...] = (
    types.Resource(
        uri="ionq://backends",
        name="backends",
        title="IonQ backends",
        description="Every IonQ backend: status, qubits, queue time, degraded flag, characterization link.",
        mime_type=_MIME,
    ),
)

TEMPLATES: tuple[types.ResourceTemplate, ...] = (
    types.ResourceTemplate(
        uri_template="ionq://backends/{backend}",
        name="backend",
        title="One IonQ backend",
        description="One backend by name (simulator, qpu.aria-1, qpu.forte-1, ...).",
        mime_type=_MIME,
    ),
    types.ResourceTemplate(
        uri_template="ionq://jobs/{job_id}",
        name="job",
        title="One IonQ job",
        description="One job by id: status, backend, shots, cost, results links.",
        mime_type=_MIME,
    ),
)

#: uri pattern -> (the wire operation read, "METHOD /path"; its argument name, None = no argument)
_ROUTES: tuple[tuple[re.Pattern[str], str, str | None], ...] = (
    (re.compile(r"^ionq://backends/?$"), "GET /backends", None),
    (re.compile(r"^ionq://backends/(?P<arg>[^/?#]+)$"), "GET /backends/{backend}", "backend"),
    (re.compile(r"^ionq://jobs/(?P<arg>[^/?#]+)$"), "GET /jobs/{UUID}", "job_id"),
)


async def list_resources(
    app: Runtime, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListResourcesResult:
    return types.ListResourcesResult(resources=[*RESOURCES, *_skill_resources.skill_resources()])


async def list_resource_templates(
    app: Runtime, ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListResourceTemplatesResult:
    return types.ListResourceTemplatesResult(resource_templates=list(TEMPLATES))


async def read_resource(
    app: Runtime, ctx: ServerRequestContext, params: types.ReadResourceRequestParams
) -> types.ReadResourceResult:
    """Read one resource; unknown URIs and bad ids are ``INVALID_PARAMS`` errors naming what is allowed."""
    from ionq_mcp.server._call import ToolCall, to_jsonable
    from ionq_mcp.server._errors import error_result
    from ionq_mcp.server._tools import read_handler
    from ionq_mcp.server._validation import format_problems, validate_call

    uri = str(params.uri)
    if _skill_resources.is_skill_uri(uri):
        return _skill_resources.read_skill_resource(uri)
    for pattern, route, arg_name in _ROUTES:
        match = pattern.match(uri)
        if match:
            break
    else:
        allowed = ", ".join([r.uri for r in RESOURCES] + [t.uri_template for t in TEMPLATES])
        raise MCPError(types.INVALID_PARAMS, f"Unknown resource {uri!r}. Resources: {allowed}.")
    op = next(op for op in app.all_operations.values() if f"{op.method} {op.path}" == route)
    arguments = {arg_name: match.group("arg")} if arg_name else {}
    problems = validate_call(op, arguments)
    if problems:
        raise MCPError(types.INVALID_PARAMS, f"{uri}: {format_problems(op, problems)}")
    upstream = app.upstream
    try:
        client = await upstream.client()
        call = ToolCall(
            op=op, arguments=arguments, client=client, guard=app.guard, upstream=upstream, request=ctx,
            params=types.CallToolRequestParams(name=op.name, arguments=arguments),
        )
        data = to_jsonable(await read_handler(op)(call))
    except Exception as exc:  # noqa: BLE001 - reported to the client as an MCP error with the hint
        result = error_result(op, exc, upstream)
        raise MCPError(types.INVALID_PARAMS if getattr(exc, "status_code", 0) == 404 else types.INTERNAL_ERROR,
                       result.content[0].text) from None
    text = upstream.redact(json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return types.ReadResourceResult(contents=[types.TextResourceContents(uri=uri, mime_type=_MIME, text=text)])
