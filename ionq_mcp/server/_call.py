"""One tool call: :class:`ToolCall` (what a handler gets), :data:`Handler` and :func:`to_jsonable`.

Handlers (:mod:`._spending`, :mod:`._workflows`, the client reads bound by :mod:`._tools`) take a
:class:`ToolCall` and return a ``dict``/model/list (shaped by :mod:`._results`), a ``CallToolResult`` or an
``InputRequiredResult``. :mod:`._dispatch` builds the call and runs the handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

    from ionq_mcp.catalog import Operation
    from ionq_mcp.client import IonQClient
    from ionq_mcp.guard import Guard
    from ionq_mcp.server._upstream import Upstream

__all__ = ["Handler", "HandlerResult", "ToolCall", "to_jsonable"]

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
