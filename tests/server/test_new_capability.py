"""An extra capability file adds a working tool end to end, with no code change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from mcp import Client

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


def _write(path: Path, name: str, operations: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "naftiko.dev/v1",
        "kind": "Capability",
        "metadata": {"name": name, "provider": "ionq"},
        "spec": {"operations": operations},
    }, sort_keys=False))
    return path


def _write_capability(path: Path) -> Path:
    return _write(path, "ionq-quantum-cloud-insights", [
        {"id": "peekJobCost", "method": "GET", "path": "/jobs/{UUID}/cost", "summary": "Peek at a job's cost"},
    ])


async def test_extra_capability_yields_a_new_working_tool(make_server, sandbox, tmp_path, mode):
    server = make_server(extra_capability_files=(_write_capability(tmp_path / "insights.yaml"),))
    async with Client(server, mode=mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert "peek_job_cost" in tools
        tool = tools["peek_job_cost"]
        assert tool.input_schema["required"] == ["job_id"]
        assert tool.annotations.read_only_hint is True

        created = await client.call_tool("create_job", BELL_JOB)
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        peek = await client.call_tool("peek_job_cost", {"job_id": job_id})
        cost = await client.call_tool("get_job_cost", {"job_id": job_id})
        bad = await client.call_tool("peek_job_cost", {})
    assert not peek.is_error, peek.content
    assert peek.structured_content == cost.structured_content  # same endpoint, same answer
    assert bad.is_error and "job_id" in bad.content[0].text
    assert sandbox.request_log.count(path_prefix=f"/jobs/{job_id}/cost") == 2


async def test_the_new_tool_joins_its_own_toolset(make_server, tmp_path, mode):
    server = make_server(extra_capability_files=(_write_capability(tmp_path / "insights.yaml"),),
                         toolsets=("insights",))
    async with Client(server, mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
    assert names == {"peek_job_cost"}


def _write_raw_submitters(path: Path) -> Path:
    return _write(path, "ionq-raw", [
        {"id": "submitRawJob", "method": "POST", "path": "/jobs", "summary": "Submit a job"},
        {"id": "openRawSession", "method": "POST", "path": "/sessions", "summary": "Open a session"},
    ])


async def test_a_new_tool_on_a_guarded_endpoint_still_goes_through_the_spend_guard(make_server, sandbox, tmp_path,
                                                                                 mode):
    server = make_server(extra_capability_files=(_write_raw_submitters(tmp_path / "raw.yaml"),))
    qpu_job = {**BELL_JOB, "backend": "qpu.aria-1", "shots": 100}
    async with Client(server, mode=mode) as client:
        job = await client.call_tool("submit_raw_job", qpu_job)
        session = await client.call_tool("open_raw_session", {"backend": "qpu.aria-1"})
        free = await client.call_tool("submit_raw_job", BELL_JOB)
    # the default policy disables QPUs: both are refused by the guard and nothing reaches the API
    for refused in (job, session):
        assert refused.is_error and "IONQ_MCP_ALLOW_QPU" in refused.content[0].text, refused.content
    assert sandbox.request_log.count(method="POST", path_prefix="/jobs") == 1  # the simulator job only
    assert sandbox.request_log.count(method="POST", path_prefix="/sessions") == 0
    assert not free.is_error, free.content
    audit = Path(server.guard.audit_log.path).read_text()
    assert '"tool":"submit_raw_job"' in audit and '"outcome":"refused"' in audit and '"outcome":"submitted"' in audit
