"""Failures as ``isError`` tool results an agent can act on.

Every error result carries the HTTP status (when there was one), IonQ's own message, and a hint that says what
to do next: who must act (the user, for a bad key), which tool finds the right id, how long to wait. Text and
structured content both pass through :meth:`Upstream.redact`, so an API key echoed anywhere never reaches the
agent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mcp_types as types

if TYPE_CHECKING:
    from ionq_mcp.catalog import Operation
    from ionq_mcp.server._upstream import Upstream

__all__ = ["error_result", "hint_for", "text_error", "validation_error"]


def text_error(text: str, structured: dict | None = None) -> types.CallToolResult:
    """An ``isError`` result with one text block (and the same facts as structured content when given)."""
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content=structured,
        is_error=True,
    )


def validation_error(op: Operation, text: str, problems: list[Any],
                     upstream: Upstream | None = None) -> types.CallToolResult:
    """Arguments failed validation: nothing was sent upstream. ``text`` (from ``format_problems``) names each
    field, what is wrong and what is allowed; the structured content lists the same problems. Problems quote
    the values they are about, so both pass through :meth:`Upstream.redact` (a key pasted into an argument)."""
    redact = upstream.redact if upstream is not None else (lambda text: text)
    listed = [
        {"path": redact(str(getattr(p, "path", ""))), "problem": redact(str(getattr(p, "message", p))),
         "allowed": getattr(p, "allowed", None)}
        for p in problems
    ]
    return text_error(redact(text), {"error": {"type": "invalid_arguments", "tool": op.name, "problems": listed}})


def hint_for(op: Operation, exc: BaseException, upstream: Upstream | None = None) -> str:
    """What the agent (or the user) should do about ``exc`` raised while running ``op``."""
    from ionq_mcp.client import (  # loaded: a handler ran, or the client failed to start
        APIConnectionError,
        APITimeoutError,
        ConfigurationError,
        UncertainOutcomeError,
        UnexpectedResponseError,
    )

    status = getattr(exc, "status_code", None)
    attempts = getattr(exc, "attempts", 1) or 1
    retried = f" The server already tried {attempts} times." if attempts > 1 else ""
    if isinstance(exc, UnexpectedResponseError):
        return (
            "IonQ answered, but with a body this server could not read (the API may have changed, or a proxy "
            "answered). Tell the user; retry once in case it was a glitch."
        )
    if status == 401:
        return (
            "IonQ rejected the API key. This needs the user: set IONQ_API_KEY to a valid IonQ API key "
            "(IonQ Cloud console -> API keys), or unset it to use the local sandbox. Retrying will not help."
        )
    if status == 403:
        return (
            "The API key is valid but its project may not access this resource. Ask the user for a key of the "
            "project that owns it; retrying will not help."
        )
    if status == 404:
        hint = f"Check the id: call {op.lister} to find the right one." if op.lister else "Check the id."
        if op.status_tool:
            hint += f" Results exist only once the job is completed: call {op.status_tool} to check its status."
        return hint
    if status in (400, 422):
        keys = getattr(exc, "validation_keys", None) or []
        where = f" ({', '.join(keys)})" if keys else ""
        return f"IonQ rejected the request{where}: fix those arguments and call {op.name} again."
    if status == 402:
        return (
            "Out of credits, or the session reached its cost_limit. Ask the user to add credits or to raise the "
            "session's cost limit (create a new session with a higher cost_limit); check spend with "
            "get_organization_usage or get_job_cost."
        )
    if status == 429:
        after = getattr(exc, "retry_after", None)
        wait = f"{after:g} s" if isinstance(after, (int, float)) and after >= 1 else "a few seconds"
        return f"IonQ is rate limiting this key.{retried} Wait {wait} before calling {op.name} again."
    if isinstance(status, int) and status >= 500:
        return (
            f"IonQ's service failed (HTTP {status}).{retried} This is an outage on IonQ's side: wait a few "
            "minutes and try again (https://status.ionq.co)."
        )
    if isinstance(exc, UncertainOutcomeError):
        candidates = getattr(exc, "candidates", None) or []
        found = f" Possible ids: {', '.join(candidates)}." if candidates else ""
        return (
            "The request may or may not have taken effect." + found + " Call list_jobs (or get_job) to check "
            "before submitting again, so the job is not created and billed twice."
        )
    if isinstance(exc, APITimeoutError):
        return f"IonQ did not answer in time.{retried} Try again; for a long job poll get_job instead of waiting."
    if isinstance(exc, APIConnectionError):
        where = upstream.base_url if upstream is not None else "IonQ"
        return f"Could not reach {where}.{retried} Check the network (or IONQ_API_URL) and try again."
    if isinstance(exc, ConfigurationError):
        return "This is a configuration problem of the server: tell the user."
    return "Unexpected failure inside the server: tell the user; retrying may not help."


def error_result(op: Operation, exc: BaseException, upstream: Upstream | None = None) -> types.CallToolResult:
    """``exc`` (raised by the client, a handler or the server itself) as an ``isError`` result."""
    redact = upstream.redact if upstream is not None else (lambda text: text)
    status = getattr(exc, "status_code", None)
    ionq_message = getattr(exc, "message", None) if status is not None else None
    hint = hint_for(op, exc, upstream)
    head = f"{op.name} failed"
    if status is not None:
        head += f": HTTP {status}"
        error_name = getattr(exc, "error", None)
        if error_name:
            head += f" {error_name}"
    else:
        head += f": {type(exc).__name__}"
    detail = ionq_message if ionq_message else str(exc)
    text = redact(f"{head}. {detail}\nHint: {hint}")
    structured: dict[str, Any] = {
        "type": type(exc).__name__,
        "message": redact(str(detail)),
        "hint": redact(hint),
    }
    if status is not None:
        structured["status"] = status
    keys = getattr(exc, "validation_keys", None)
    if keys:
        structured["validation_keys"] = [redact(str(k)) for k in keys]
    attempts = getattr(exc, "attempts", None)
    if isinstance(attempts, int) and attempts:
        structured["attempts"] = attempts
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, (int, float)):
        structured["retry_after_s"] = retry_after
    return text_error(text, {"error": structured})
