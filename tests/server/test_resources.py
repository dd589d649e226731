"""Resources: ``ionq://backends`` and the ``ionq://backends/{backend}`` / ``ionq://jobs/{job_id}`` templates."""

from __future__ import annotations

import json

import pytest
from mcp import Client, MCPError

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


async def test_lists_the_resource_and_the_templates(server, mode):
    async with Client(server, mode=mode) as client:
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
    assert [str(r.uri) for r in resources if str(r.uri).startswith("ionq://")] == ["ionq://backends"]
    assert {t.uri_template for t in templates} == {"ionq://backends/{backend}", "ionq://jobs/{job_id}"}
    assert all(t.mime_type == "application/json" for t in templates)


async def test_reads_backends_and_one_backend(server, mode):
    async with Client(server, mode=mode) as client:
        every = await client.read_resource("ionq://backends")
        one = await client.read_resource("ionq://backends/qpu.aria-1")
        tool = await client.call_tool("get_backend", {"backend": "qpu.aria-1"})
    backends = json.loads(every.contents[0].text)
    assert "simulator" in {b["backend"] for b in backends}
    assert every.contents[0].mime_type == "application/json"
    assert json.loads(one.contents[0].text) == tool.structured_content


async def test_reads_a_job(server, mode):
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", BELL_JOB)
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        job = json.loads((await client.read_resource(f"ionq://jobs/{job_id}")).contents[0].text)
    assert job["id"] == job_id and job["status"] == "completed"


async def test_unknown_uris_and_ids_are_errors_naming_what_exists(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        with pytest.raises(MCPError, match="ionq://backends"):
            await client.read_resource("ionq://satellites")
        with pytest.raises(MCPError, match="list_jobs"):
            await client.read_resource("ionq://jobs/00000000-0000-4000-8000-000000000000")
