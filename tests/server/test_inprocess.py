"""The server in-process through ``mcp.Client`` in both protocol eras, against the sandbox we hold."""

from __future__ import annotations

import json
import math

import httpx
import pytest
from mcp import Client

from ionq_mcp.catalog import load_catalog
from ionq_mcp.client import IonQClient
from ionq_mcp.server._results import MAX_RESULT_BYTES, TOP_OUTCOMES

from .conftest import BELL_JOB, wait_completed

pytestmark = pytest.mark.anyio


async def test_lists_every_api_operation_and_the_implemented_workflows(server, mode):
    catalog = load_catalog()
    api = {op.name for op in catalog.operations if op.kind == "http"}
    async with Client(server, mode=mode) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert len(api) == 25
    assert api <= set(listed)
    workflows = set(listed) - api
    assert workflows == {op.name for op in catalog.operations if op.kind == "workflow"}
    assert all(server.inventory[name].op.kind == "workflow" for name in workflows)  # each bound to its handler
    for name, tool in listed.items():
        op = catalog.get(name)
        assert tool.input_schema == op.input_schema
        assert tool.input_schema["type"] == "object"
        assert tool.annotations.read_only_hint is op.read_only
        assert tool.annotations.destructive_hint is op.destructive
    assert listed["get_job"].annotations.read_only_hint is True
    assert listed["delete_job"].annotations.destructive_hint is True
    assert listed["create_job"].annotations.read_only_hint is False


async def test_instructions_say_results_are_simulated(server, mode):
    async with Client(server, mode=mode) as client:
        text = client.instructions or ""
    assert "SIMULATED" in text
    assert "rightmost" in text.lower()
    assert "radians" in text and "turns" in text


async def test_get_backend_returns_what_the_api_returns(server, sandbox, mode):
    async with IonQClient(api_key=sandbox.api_key, base_url="https://sandbox.test/v0.4",
                          transport=httpx.ASGITransport(app=sandbox.app)) as direct:
        expected = (await direct.get_backend("simulator")).model_dump(mode="json", by_alias=True)
        expected_all = [b.model_dump(mode="json", by_alias=True) for b in await direct.list_backends()]
    async with Client(server, mode=mode) as client:
        one = await client.call_tool("get_backend", {"backend": "simulator"})
        every = await client.call_tool("list_backends", {})
    assert not one.is_error and not every.is_error
    assert one.structured_content == expected
    assert one.structured_content["qubits"] == 29
    assert every.structured_content == {"backends": expected_all}
    assert "simulator" in one.content[0].text


async def test_whoami_says_sandbox(server, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error
    assert result.structured_content["upstream"]["sandbox"] is True
    assert "simulated" in result.structured_content["upstream"]["note"]
    assert "sandbox" in result.content[0].text


async def test_bell_job_end_to_end(server, mode):
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", BELL_JOB)
        assert not created.is_error, created.content
        job_id = created.structured_content["id"]
        job = await wait_completed(client, job_id)
        assert job["status"] == "completed"
        probs = await client.call_tool("get_job_probabilities", {"job_id": job_id})
        listed = await client.call_tool("list_jobs", {})
        cost = await client.call_tool("get_job_cost", {"job_id": job_id})
    assert not probs.is_error and not listed.is_error and not cost.is_error
    # Bell state (|00> + |11>)/sqrt(2): exactly half and half on the ideal simulator
    content = probs.structured_content
    assert set(content["bitstrings"]) == {"00", "11"}
    assert all(math.isclose(p, 0.5, abs_tol=1e-9) for p in content["bitstrings"].values())
    assert set(content["probabilities"]) == {"0", "3"}
    assert content["truncated"] is False and content["total_outcomes"] == 2 and content["shown"] == 2
    assert job_id in [j["id"] for j in listed.structured_content["jobs"]]


async def test_bitstrings_put_qubit_zero_rightmost(server, mode):
    # X on qubit 0 and H on qubit 2: outcomes |q2 q1 q0> = 001 and 101, decimal 1 and 5
    job = {
        **BELL_JOB,
        "input": {"qubits": 3, "gateset": "qis",
                  "circuit": [{"gate": "x", "target": 0}, {"gate": "h", "target": 2}]},
    }
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", job)
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        probs = (await client.call_tool("get_job_probabilities", {"job_id": job_id})).structured_content
    assert set(probs["probabilities"]) == {"1", "5"}
    assert set(probs["bitstrings"]) == {"001", "101"}


async def test_a_wide_distribution_is_capped_to_its_top_outcomes(server, mode):
    n = 12  # uniform over 4096 outcomes
    job = {**BELL_JOB, "input": {"qubits": n, "gateset": "qis",
                                 "circuit": [{"gate": "h", "target": q} for q in range(n)]}}
    async with Client(server, mode=mode) as client:
        created = await client.call_tool("create_job", job)
        job_id = created.structured_content["id"]
        await wait_completed(client, job_id)
        result = await client.call_tool("get_job_probabilities", {"job_id": job_id})
    content = result.structured_content
    assert content["truncated"] is True
    assert content["total_outcomes"] == 2**n
    assert content["shown"] == TOP_OUTCOMES == len(content["bitstrings"]) == len(content["probabilities"])
    assert math.isclose(content["remaining_mass"], 1 - TOP_OUTCOMES / 2**n, rel_tol=1e-6)
    assert all(len(bits) == n for bits in content["bitstrings"])
    assert len(json.dumps(content, separators=(",", ":"))) <= MAX_RESULT_BYTES


async def test_unknown_tool_is_an_error_result(server, sandbox, mode):
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("launch_rocket", {})
    assert result.is_error
    assert "Unknown tool" in result.content[0].text and "get_job" in result.content[0].text
    assert sandbox.request_log.count() == 0
