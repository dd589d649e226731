"""The prompt registry serves the prompts contributed by ``_prompt_texts`` and checks their arguments."""

from __future__ import annotations

import pytest
from mcp import Client, MCPError

from ionq_mcp.server._prompt_texts import PROMPTS

pytestmark = pytest.mark.anyio


async def test_lists_and_renders_every_prompt(server, mode):
    async with Client(server, mode=mode) as client:
        listed = {p.name: p for p in (await client.list_prompts()).prompts}
        assert set(listed) == set(PROMPTS)
        for name, prompt in listed.items():
            required = {a.name for a in prompt.arguments or () if a.required}
            arguments = {a: f"value-of-{a}" for a in required}
            rendered = await client.get_prompt(name, arguments)
            assert rendered.messages and rendered.messages[0].role == "user"
            for value in arguments.values():
                assert value in rendered.messages[0].content.text


async def test_missing_required_arguments_and_unknown_prompts_are_refused(server, mode):
    # PROMPTS arguments are (name, description, required) tuples
    prompt, argument = next((name, arg[0]) for name, (_, args, _) in PROMPTS.items() for arg in args if arg[2])
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError, match=argument):
            await client.get_prompt(prompt, {})
        with pytest.raises(MCPError, match="Prompts:"):
            await client.get_prompt("no_such_prompt", {})
