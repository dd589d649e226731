"""Prompt registry: serves the prompts of :mod:`ionq_mcp.server._prompt_texts`.

That module exports ``PROMPTS: dict[name, (description, arguments, render)]`` where ``arguments`` is a sequence
of :class:`mcp_types.PromptArgument`, of dicts with the same fields, or of ``(name, description, required)``
tuples, and ``render(arguments: dict[str, str])`` returns the prompt text (one user message) or a list of
:class:`mcp_types.PromptMessage`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mcp_types as types
from mcp import MCPError

from ionq_mcp.server._prompt_texts import PROMPTS

if TYPE_CHECKING:
    from mcp.server.context import ServerRequestContext

__all__ = ["PromptEntry", "get_prompt", "list_prompts", "load_prompts"]

@dataclass(frozen=True)
class PromptEntry:
    prompt: types.Prompt
    render: Callable[[dict[str, str]], Any]


def _argument(item: Any) -> types.PromptArgument:
    if isinstance(item, types.PromptArgument):
        return item
    if isinstance(item, Mapping):
        return types.PromptArgument.model_validate(dict(item))
    name, description, required = (tuple(item) + (None, None))[:3]
    return types.PromptArgument(name=name, description=description, required=bool(required))


def load_prompts() -> dict[str, PromptEntry]:
    """The registered prompts, by name."""
    entries: dict[str, PromptEntry] = {}
    for name, (description, arguments, render) in PROMPTS.items():
        prompt = types.Prompt(name=name, description=description, arguments=[_argument(a) for a in arguments or ()])
        entries[name] = PromptEntry(prompt=prompt, render=render)
    return entries


async def list_prompts(
    prompts: Mapping[str, PromptEntry], ctx: ServerRequestContext, params: types.PaginatedRequestParams | None
) -> types.ListPromptsResult:
    return types.ListPromptsResult(prompts=[entry.prompt for entry in prompts.values()])


def _messages(rendered: Any) -> list[types.PromptMessage]:
    if isinstance(rendered, str):
        return [types.PromptMessage(role="user", content=types.TextContent(type="text", text=rendered))]
    if isinstance(rendered, Sequence):
        return [m if isinstance(m, types.PromptMessage) else types.PromptMessage.model_validate(m) for m in rendered]
    raise TypeError(f"prompt renderer returned {type(rendered).__name__}; expected str or a list of messages")


async def get_prompt(prompts: Mapping[str, PromptEntry], ctx: ServerRequestContext,
                     params: types.GetPromptRequestParams) -> types.GetPromptResult:
    """Render one prompt; unknown names and missing required arguments are ``INVALID_PARAMS`` errors."""
    entry = prompts.get(params.name)
    if entry is None:
        known = ", ".join(sorted(prompts)) or "(none)"
        raise MCPError(types.INVALID_PARAMS, f"Unknown prompt {params.name!r}. Prompts: {known}.")
    arguments = dict(params.arguments or {})
    missing = [a.name for a in entry.prompt.arguments or () if a.required and not arguments.get(a.name)]
    if missing:
        raise MCPError(types.INVALID_PARAMS, f"Prompt {params.name!r} needs argument(s): {', '.join(missing)}.")
    try:
        rendered = entry.render(arguments)
        if inspect.isawaitable(rendered):
            rendered = await rendered
    except (ValueError, KeyError, TypeError) as exc:
        raise MCPError(types.INVALID_PARAMS, f"Prompt {params.name!r}: {exc}") from None
    return types.GetPromptResult(description=entry.prompt.description, messages=_messages(rendered))
