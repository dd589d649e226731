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


MULTI = {"type": "ionq.multi-circuit.v1", "backend": "simulator", "shots": 100,
         "input": {"gateset": "qis", "qubits": 3, "circuits": [
             {"name": "bell", "circuit": BELL_JOB["input"]["circuit"]},
             {"name": "flip", "circuit": [{"gate": "x", "target": 2}]}]}}


async def test_stdio_agent_view_of_a_multi_circuit_job(tmp_path):
    """Issue 9 over stdio: a multi-circuit parent's probabilities pass mcp.Client's outputSchema check, carry
    circuit names and full-width bitstrings, and the text holds the whole result; whoami shows the
    organization; a refused call sends nothing and names the exact key."""
    import json

    async with Client(_params(tmp_path), read_timeout_seconds=60) as client:
        created = await client.call_tool("create_job", MULTI)
        parent = created.structured_content["id"]
        await wait_completed(client, parent)
        probs = await client.call_tool("get_job_probabilities", {"job_id": parent})
        me = await client.call_tool("whoami", {})
        bad = await client.call_tool("create_job", {**BELL_JOB, "input": {
            **BELL_JOB["input"], "circuit": [{"gate": "x", "controls": [0, 7], "target": 1}]}})
    children = probs.structured_content["children"]
    assert [c["name"] for c in children.values()] == ["bell", "flip"]
    assert [set(c["bitstrings"]) for c in children.values()] == [{"000", "011"}, {"100"}]
    assert json.dumps(probs.structured_content, separators=(",", ":")) in probs.content[0].text
    assert isinstance(me.structured_content["organization_id"], str)
    assert bad.is_error and "input.circuit[0].controls[1]" in bad.content[0].text
