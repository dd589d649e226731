"""``--toolsets``, ``--tools`` and ``--read-only`` decide which tools the server lists and accepts."""

from __future__ import annotations

import pytest
from mcp import Client

from ionq_mcp.catalog import load_catalog
from ionq_mcp.server import ServerConfig

pytestmark = pytest.mark.anyio

CATALOG = load_catalog()


async def _names(server, mode) -> set[str]:
    async with Client(server, mode=mode) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_toolsets_keep_only_their_capabilities(make_server, mode):
    names = await _names(make_server(toolsets=("backends", "usage")), mode)
    expected = {op.name for op in CATALOG.operations if op.capability in ("backends", "usage")}
    assert names == expected
    assert "list_backends" in names and "whoami" in names and "create_job" not in names


async def test_tools_allow_list(make_server, sandbox, mode):
    server = make_server(tools=("get_backend", "whoami"))
    assert await _names(server, mode) == {"get_backend", "whoami"}
    async with Client(server, mode=mode) as client:
        refused = await client.call_tool("create_job", {})
    assert refused.is_error and "disabled" in refused.content[0].text and "get_backend" in refused.content[0].text
    assert sandbox.request_log.count() == 0


async def test_read_only_drops_every_tool_that_changes_state(make_server, mode):
    names = await _names(make_server(read_only=True), mode)
    writers = {op.name for op in CATALOG.operations if not op.read_only}
    assert {"create_job", "delete_job", "cancel_job", "create_session", "end_session", "delete_jobs"} <= writers
    assert not names & writers
    assert {"get_job", "list_jobs", "list_backends", "whoami", "get_job_estimate"} <= names


async def test_selections_combine(make_server, mode):
    names = await _names(make_server(toolsets=("jobs",), read_only=True), mode)
    assert names == {op.name for op in CATALOG.operations if op.capability == "jobs" and op.read_only}


async def test_unknown_names_are_refused_with_the_known_ones(make_server):
    with pytest.raises(KeyError, match="backends"):
        make_server(toolsets=("backend",))
    with pytest.raises(KeyError, match="get_job"):
        make_server(tools=("get_jobz",))


def test_environment_variables_select_too():
    config = ServerConfig.from_env({"IONQ_MCP_TOOLSETS": "jobs, usage", "IONQ_MCP_TOOLS": "get_job,whoami",
                                    "IONQ_MCP_READ_ONLY": "true"})
    assert config.toolsets == ("jobs", "usage")
    assert config.tools == ("get_job", "whoami")
    assert config.read_only is True
    with pytest.raises(ValueError, match="IONQ_MCP_READ_ONLY"):
        ServerConfig.from_env({"IONQ_MCP_READ_ONLY": "perhaps"})
