"""The real server process over stdio (``python -m ionq_mcp.cli serve --sandbox``) through ``mcp.Client``."""

from __future__ import annotations

import os
import sys

import pytest
from mcp import Client, StdioServerParameters
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


def _params(tmp_path, *extra: str) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IONQ_")}
    env["IONQ_MCP_STATE_DIR"] = str(tmp_path)
    return StdioServerParameters(command=sys.executable, args=["-m", "ionq_mcp.cli", "serve", "--sandbox", *extra],
                                 env=env)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_session_runs_a_bell_job(tmp_path, mode):
    async with Client(_params(tmp_path), mode=mode, read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert {"create_job", "get_job", "whoami", "get_job_estimate"} <= tools
        assert "SIMULATED" in (client.instructions or "")
        created = await client.call_tool("create_job", BELL_JOB)
        assert not created.is_error, created.content
        await wait_completed(client, created.structured_content["id"])
        probs = await client.call_tool("get_job_probabilities", {"job_id": created.structured_content["id"]})
        bad = await client.call_tool("create_job", {**BELL_JOB, "shots": -5})
        version = client.protocol_version
    assert (version in MODERN_PROTOCOL_VERSIONS) is (mode == "auto")
    assert set(probs.structured_content["bitstrings"]) == {"00", "11"}
    assert bad.is_error and "shots" in bad.content[0].text
    assert (tmp_path / "sandbox.sqlite3").exists()  # the sandbox lives under the state dir


async def test_stdio_flags_select_tools(tmp_path):
    async with Client(_params(tmp_path, "--toolsets", "backends", "--read-only"), read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
    assert tools == {"list_backends", "get_backend", "get_backend_characterizations", "get_backend_characterization"}
