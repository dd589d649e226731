"""What an agent reads through a real MCP client: nothing internal, hints that say what happened."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from ionq_mcp.client import IDEMPOTENCY_METADATA_KEY

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


async def test_the_internal_idempotency_key_is_not_shown_in_job_metadata(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", {**BELL_JOB, "metadata": {"experiment": "bell"}})
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        shown = [await client.call_tool("get_job", {"job_id": job_id}),
                 await client.call_tool("list_jobs", {"limit": 5}),
                 await client.call_tool("wait_for_job", {"job_id": job_id})]
    stored = sandbox.store.get_job(job_id)
    assert IDEMPOTENCY_METADATA_KEY in json.dumps(stored.doc)  # the job does carry it upstream
    for result in [created, *shown]:
        assert not result.is_error, result.content
        text = json.dumps(result.structured_content) + result.content[0].text
        assert IDEMPOTENCY_METADATA_KEY not in text
    assert shown[0].structured_content["metadata"] == {"experiment": "bell"}


async def test_the_reserved_metadata_key_is_refused_before_anything_is_sent(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        for tool in ("create_job", "run_circuit"):
            arguments = {**BELL_JOB, "metadata": {IDEMPOTENCY_METADATA_KEY: "00000000-aaaa"}}
            if tool == "run_circuit":
                arguments.pop("type")
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            assert f"metadata.{IDEMPOTENCY_METADATA_KEY}" in result.content[0].text
            assert "reserved" in result.content[0].text
    assert sandbox.request_log.count() == 0
    assert sandbox.store.count_jobs() == 0


async def test_a_job_in_an_ended_session_gets_a_hint_that_says_what_happened(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        session = await client.call_tool("create_session", {"backend": "simulator"})
        assert not session.is_error, session.content
        session_id = session.structured_content["id"]
        ended = await client.call_tool("end_session", {"session_id": session_id})
        assert not ended.is_error, ended.content
        refused = await client.call_tool("create_job", {**BELL_JOB, "session_id": session_id})
    text = refused.content[0].text
    assert refused.is_error and "409" in text
    assert "no longer accepts jobs" in text and "Nothing was created" in text
    assert "Unexpected failure" not in text
